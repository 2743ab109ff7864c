"""What the reference-tensor scripts of tests/refgen share.

Random weights, the same in C and in PyTorch. A network's tests run it with
random weights made by a rule both sides compute: element i of the tensor
named NAME (diffusers' or transformers' state-dict name) is

    low + (high - low) * u,  u = (bits + 0.5) / 2^32,

bits = word (i mod 4) of Philox4x32-10 (Salmon et al. 2011) with key = the
64-bit seed and counter = (i div 4 as 64 bits, stream as 64 bits), stream =
the 64-bit FNV-1a hash of NAME. That is core/tensor/rng.c's
dm_rng_uniform_fill(out, n, low, high, seed, fnv1a64(NAME), 0), computed in
double and rounded to float32, so both sides hold the same bits and no
weight file has to be committed: only the small inputs and outputs. The C
side is core/network/params.c's dm_weights_fill_random().

weight_range() gives (low, high) for a tensor: PyTorch's default bound
1/sqrt(fan_in) for weights and biases, [0.5, 1.5] for norm weights and
[-0.5, 0.5] for norm biases (so that a norm's parameters are not 1 and 0 and
a mistake in applying them shows), [-1, 1] for 2-D "...embedding.weight"
lookup tables.
"""

import struct

import numpy as np

MUL0, MUL1 = 0xD2511F53, 0xCD9E8D57
WEYL0, WEYL1 = 0x9E3779B9, 0xBB67AE85
MASK32 = 0xFFFFFFFF


def fnv1a64(name):
    """The 64-bit FNV-1a hash of NAME's UTF-8 bytes."""
    value = 0xCBF29CE484222325
    for byte in name.encode("utf-8"):
        value ^= byte
        value = (value * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return value


def philox4x32_10(counter, seed):
    """Philox4x32-10 of counters (N, 4) uint64 holding 32-bit words."""
    c = [counter[:, k].astype(np.uint64) for k in range(4)]
    key0, key1 = seed & MASK32, (seed >> 32) & MASK32
    for _ in range(10):
        p0 = np.uint64(MUL0) * c[0]
        p1 = np.uint64(MUL1) * c[2]
        c = [(p1 >> np.uint64(32)) ^ c[1] ^ np.uint64(key0),
             p1 & np.uint64(MASK32),
             (p0 >> np.uint64(32)) ^ c[3] ^ np.uint64(key1),
             p0 & np.uint64(MASK32)]
        key0 = (key0 + WEYL0) & MASK32
        key1 = (key1 + WEYL1) & MASK32
    return np.stack(c, axis=1)


def uniform(count, low, high, seed, stream, offset=0):
    """dm_rng_uniform_fill: `count` float32 values in [low, high)."""
    index = np.arange(offset, offset + count, dtype=np.uint64)
    block = index >> np.uint64(2)
    counter = np.stack([block & np.uint64(MASK32), block >> np.uint64(32),
                        np.full_like(block, stream & MASK32),
                        np.full_like(block, stream >> 32)], axis=1)
    words = philox4x32_10(counter, seed)
    bits = words[np.arange(count), (index & np.uint64(3)).astype(np.int64)]
    unit = (bits.astype(np.float64) + 0.5) * (1.0 / 4294967296.0)
    low, high = float(np.float32(low)), float(np.float32(high))
    return (low + (high - low) * unit).astype(np.float32)


def weight_range(name, shape):
    """(low, high) of the random values of the tensor NAME of SHAPE."""
    if "norm" in name and len(shape) == 1:
        return (0.5, 1.5) if name.endswith("weight") else (-0.5, 0.5)
    if name.endswith("embedding.weight") and len(shape) == 2:
        return (-1.0, 1.0)
    fan_in = 1
    for size in (shape[1:] if len(shape) > 1 else shape):
        fan_in *= size
    bound = 1.0 / np.sqrt(fan_in)
    return (-bound, bound)


def random_tensor(name, shape, seed):
    """The tensor NAME of SHAPE under the rule above, as a numpy array."""
    count = int(np.prod(shape)) if len(shape) else 1
    low, high = weight_range(name, shape)
    return uniform(count, low, high, seed, fnv1a64(name)).reshape(shape)


def write_safetensors(path, tensors, metadata=None):
    """Writes {name: float32 numpy array} as a safetensors file."""
    header, offset, blobs = {}, 0, []
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = metadata
    import json
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(text)))
        out.write(text)
        for blob in blobs:
            out.write(blob)


def read_safetensors(path):
    """{name: numpy array} of a safetensors file (F32, F16, BF16 read as
    float32; other dtypes as they are), memory-mapped."""
    import json
    kinds = {"F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8",
             "I32": "<i4"}
    with open(path, "rb") as file:
        length = struct.unpack("<Q", file.read(8))[0]
        header = json.loads(file.read(length))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + length)
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        start, end = entry["data_offsets"]
        array = data[start:end].view(kinds[entry["dtype"]])
        if entry["dtype"] == "BF16":
            array = (array.astype(np.uint32) << 16).view("<f4")
        tensors[name] = array.astype(np.float32).reshape(entry["shape"])
    return tensors


def normal_at(indices, seed, stream):
    """dm_rng_normal_fill's deviates at element indices INDICES (uint64
    array), as float32: elements 2k and 2k + 1 share Philox block k and
    take its words (0, 1) and (2, 3); Box-Muller in double,
    sqrt(-2 ln u1) cos(2 pi u2), u = (bits + 0.5) / 2^32."""
    index = np.asarray(indices, dtype=np.uint64).ravel()
    block = index >> np.uint64(1)
    counter = np.stack([block & np.uint64(MASK32), block >> np.uint64(32),
                        np.full_like(block, stream & MASK32),
                        np.full_like(block, stream >> 32)], axis=1)
    words = philox4x32_10(counter, seed)
    first = ((index & np.uint64(1)) * np.uint64(2)).astype(np.int64)
    rows = np.arange(index.size)
    unit = 1.0 / 4294967296.0
    u1 = (words[rows, first].astype(np.float64) + 0.5) * unit
    u2 = (words[rows, first + 1].astype(np.float64) + 0.5) * unit
    radius = np.sqrt(-2.0 * np.log(u1))
    return (radius * np.cos(2.0 * np.pi * u2)).astype(np.float32)
