# The plug-in in GIMP 3 batch mode (run by test-gimp.sh inside GIMP with
# python-fu-eval): pixels outside the selection stay bit-exact, pixels
# inside change, the result layer, errors, precisions, undo, a run
# stopped mid-sampling, a mask-conditioned model (DM_TEST_MASK_MODEL, made
# by make-mask-model.sh) with its guidance scale, the dialog showing
# the guidance scale for such a model only, and a tiny random-weight Stable
# Diffusion pipeline folder (DM_TEST_MAKE_SD --tiny) healing and generating
# with prompts.
# Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
import os
import re
import signal
import struct
import subprocess
import threading
import time

import gi
gi.require_version('Gimp', '3.0')
gi.require_version('Gegl', '0.4')
from gi.repository import Gegl, Gimp, Gio  # noqa: E402

DATA = os.environ['DM_TEST_DATA']
MODEL = os.path.join(DATA, 'tiny_attn')
MASK_MODEL = os.environ.get('DM_TEST_MASK_MODEL')
CLI = os.environ.get('DM_TEST_CLI')
MAKE_SD = os.environ.get('DM_TEST_MAKE_SD')
FAST = {'steps': 3, 'seed': 7}
failures = []


def check(name, ok, detail=''):
    print(('ok   ' if ok else 'FAIL ') + name + ('' if ok else ': ' + detail))
    if not ok:
        failures.append(name)


def pattern(width, height, channels):
    """Bytes of a u8 test pattern, alpha (last channel) varying too."""
    out = bytearray()
    for y in range(height):
        for x in range(width):
            for c in range(channels):
                out.append((x * 7 + y * 13 + c * 50 + x * y) % 256)
    return bytes(out)


def new_image(base, precision, layer_type, size=(64, 48), layer_size=None,
              offsets=(0, 0)):
    width, height = layer_size or size
    image = Gimp.Image.new_with_precision(size[0], size[1], base, precision)
    layer = Gimp.Layer.new(image, 'source', width, height, layer_type, 100,
                           Gimp.LayerMode.NORMAL)
    image.insert_layer(layer, None, 0)
    layer.set_offsets(*offsets)
    channels = {Gimp.ImageType.RGB_IMAGE: 3, Gimp.ImageType.RGBA_IMAGE: 4,
                Gimp.ImageType.GRAY_IMAGE: 1,
                Gimp.ImageType.GRAYA_IMAGE: 2}[layer_type]
    fmt = {1: "Y' u8", 2: "Y'A u8", 3: "R'G'B' u8", 4: "R'G'B'A u8"}[channels]
    buffer = layer.get_buffer()
    buffer.set(Gegl.Rectangle.new(0, 0, width, height), fmt,
               pattern(width, height, channels))
    buffer.flush()
    layer.update(0, 0, width, height)
    return image, layer


def pixels(drawable, fmt):
    """The drawable's pixels in `fmt`, as one tuple per pixel."""
    width, height = drawable.get_width(), drawable.get_height()
    data = drawable.get_buffer().get(Gegl.Rectangle.new(0, 0, width, height),
                                     1.0, fmt, Gegl.AbyssPolicy.NONE)
    size = len(data) // (width * height)
    return [data[i:i + size] for i in range(0, len(data), size)]


def selection_values(image, drawable):
    """The selection (0..255) over each pixel of the drawable."""
    x, y = drawable.get_offsets()[1:]
    width, height = drawable.get_width(), drawable.get_height()
    buffer = image.get_selection().get_buffer()
    return list(buffer.get(Gegl.Rectangle.new(x, y, width, height), 1.0,
                           'Y u8', Gegl.AbyssPolicy.NONE))


def run(name, image, drawable, **arguments):
    """Runs procedure `name` non-interactively: (status, message)."""
    procedure = Gimp.get_pdb().lookup_procedure(name)
    config = procedure.create_config()
    config.set_property('run-mode', Gimp.RunMode.NONINTERACTIVE)
    config.set_property('image', image)
    config.set_core_object_array('drawables', [drawable])
    for key, value in arguments.items():
        config.set_property(key.replace('_', '-'), value)
    result = procedure.run(config)
    message = result.index(1) if result.length() > 1 else ''
    return result.index(0), message or ''


def same(a, b, tolerance):
    """Pixels a and b (bytes) equal, or for tolerance > 0, float pixels
    within that relative tolerance."""
    if tolerance == 0:
        return a == b
    count = len(a) // 4
    return all(abs(x - y) <= tolerance * max(abs(x), abs(y), 1e-3)
               for x, y in zip(struct.unpack('%df' % count, a),
                               struct.unpack('%df' % count, b)))


def compare(name, before, after, selection, tolerance=0):
    """Outside the selection bit-exact (or within `tolerance`); inside, some
    pixels changed."""
    outside = [i for i, s in enumerate(selection) if s == 0]
    inside = [i for i, s in enumerate(selection) if s == 255]
    kept = sum(same(before[i], after[i], tolerance) for i in outside)
    changed = sum(before[i] != after[i] for i in inside)
    check(name + ': pixels outside the selection unchanged',
          kept == len(outside), '%d of %d differ' % (len(outside) - kept,
                                                    len(outside)))
    check(name + ': pixels inside the selection changed',
          changed > len(inside) // 2, 'only %d of %d' % (changed, len(inside)))


def test_inpaint_new_layer():
    image, layer = new_image(Gimp.ImageBaseType.RGB,
                             Gimp.Precision.U8_NON_LINEAR,
                             Gimp.ImageType.RGB_IMAGE)
    image.select_ellipse(Gimp.ChannelOps.REPLACE, 16, 12, 28, 20)
    before = pixels(layer, "R'G'B' u8")
    status, message = run('plug-in-diffusion-inpaint', image, layer,
                          model=MODEL, **FAST)
    check('inpaint succeeds', status == Gimp.PDBStatusType.SUCCESS, message)
    layers = image.get_layers()
    check('inpaint adds one layer', len(layers) == 2, str(len(layers)))
    if len(layers) != 2:
        return
    check('the result layer is above the source, named after the settings',
          layers[0].get_name() == 'tiny_attn ddim 3 #7' and
          layers[1] == layer, layers[0].get_name())
    check('the source layer is unchanged',
          pixels(layer, "R'G'B' u8") == before)
    compare('inpaint, new layer', before, pixels(layers[0], "R'G'B' u8"),
            selection_values(image, layer))


def test_inpaint_in_place_soft():
    image, layer = new_image(Gimp.ImageBaseType.RGB,
                             Gimp.Precision.U8_NON_LINEAR,
                             Gimp.ImageType.RGB_IMAGE)
    image.select_ellipse(Gimp.ChannelOps.REPLACE, 10, 8, 30, 24)
    Gimp.Selection.feather(image, 6.0)
    selection = selection_values(image, layer)
    check('the feathered selection is soft',
          any(0 < s < 255 for s in selection))
    before = pixels(layer, "R'G'B' u8")
    status, message = run('plug-in-diffusion-inpaint', image, layer,
                          model=MODEL, new_layer=False, sampler='ddpm',
                          **FAST)
    check('inpaint in place succeeds',
          status == Gimp.PDBStatusType.SUCCESS, message)
    check('inpaint in place adds no layer', len(image.get_layers()) == 1)
    compare('inpaint in place, feathered', before, pixels(layer, "R'G'B' u8"),
            selection)


def test_rgba16_offsets():
    """RGBA, 16-bit linear, a layer with offsets and a selection partly
    outside it: alpha and precision kept, outside bit-exact."""
    image, layer = new_image(Gimp.ImageBaseType.RGB,
                             Gimp.Precision.U16_LINEAR,
                             Gimp.ImageType.RGBA_IMAGE, size=(64, 48),
                             layer_size=(40, 30), offsets=(30, 20))
    image.select_rectangle(Gimp.ChannelOps.REPLACE, 50, 36, 30, 30)
    before = pixels(layer, 'RGBA u16')
    selection = selection_values(image, layer)
    status, message = run('plug-in-diffusion-inpaint', image, layer,
                          model=MODEL, new_layer=False, **FAST)
    check('RGBA 16-bit inpaint succeeds',
          status == Gimp.PDBStatusType.SUCCESS, message)
    after = pixels(layer, 'RGBA u16')
    check('the image keeps its precision',
          image.get_precision() == Gimp.Precision.U16_LINEAR)
    check('the layer keeps its alpha channel', layer.has_alpha())
    check('alpha unchanged everywhere',
          all(b[6:8] == a[6:8] for b, a in zip(before, after)))
    compare('RGBA 16-bit with offsets', before, after, selection)


def test_grey_float():
    """Grey float images. GIMP's merge of the shadow buffer composites the
    selection's bounding box, so at float precision unselected pixels there
    may move by float rounding (integer precisions round back exactly)."""
    for precision, fmt, tolerance in (
            (Gimp.Precision.FLOAT_LINEAR, 'YA float', 1e-5),
            (Gimp.Precision.FLOAT_NON_LINEAR, "Y'A float", 1e-5)):
        image, layer = new_image(Gimp.ImageBaseType.GRAY, precision,
                                 Gimp.ImageType.GRAYA_IMAGE)
        image.select_ellipse(Gimp.ChannelOps.REPLACE, 20, 10, 24, 24)
        before = pixels(layer, fmt)
        status, message = run('plug-in-diffusion-inpaint', image, layer,
                              model=MODEL, new_layer=False, **FAST)
        name = 'grey %s' % fmt
        check(name + ': inpaint succeeds',
              status == Gimp.PDBStatusType.SUCCESS, message)
        compare(name, before, pixels(layer, fmt),
                selection_values(image, layer), tolerance)


def test_generate():
    image, layer = new_image(Gimp.ImageBaseType.RGB,
                             Gimp.Precision.U8_NON_LINEAR,
                             Gimp.ImageType.RGB_IMAGE)
    image.select_rectangle(Gimp.ChannelOps.REPLACE, 8, 8, 24, 16)
    before = pixels(layer, "R'G'B' u8")
    status, message = run('plug-in-diffusion-generate', image, layer,
                          model=MODEL, new_layer=False, **FAST)
    check('generate succeeds', status == Gimp.PDBStatusType.SUCCESS, message)
    compare('generate into the selection', before, pixels(layer, "R'G'B' u8"),
            selection_values(image, layer))
    Gimp.Selection.none(image)
    status, message = run('plug-in-diffusion-generate', image, layer,
                          model=MODEL, **FAST)
    layers = image.get_layers()
    check('generate without a selection fills the whole layer',
          status == Gimp.PDBStatusType.SUCCESS and len(layers) == 2 and
          sum(a != b for a, b in zip(before, pixels(layers[0], "R'G'B' u8")))
          > 0.9 * len(before), message)
    image.select_rectangle(Gimp.ChannelOps.REPLACE, 8, 8, 24, 16)
    status, message = run('plug-in-diffusion-generate', image, layer,
                          model=MODEL, seamless=True, **FAST)
    check('seamless generate succeeds',
          status == Gimp.PDBStatusType.SUCCESS, message)
    image.select_rectangle(Gimp.ChannelOps.REPLACE, 8, 8, 23, 16)
    status, message = run('plug-in-diffusion-generate', image, layer,
                          model=MODEL, seamless=True, **FAST)
    check('seamless generate of an odd width fails, naming the multiple',
          status != Gimp.PDBStatusType.SUCCESS and 'multiples of' in message,
          message)


def expect_error(name, image, layer, procedure, wanted, **arguments):
    """The run fails with a message containing `wanted`; nothing changes."""
    before = pixels(layer, "R'G'B' u8")
    status, message = run(procedure, image, layer, **arguments)
    check(name + ': an error', status in (
        Gimp.PDBStatusType.EXECUTION_ERROR, Gimp.PDBStatusType.CALLING_ERROR),
        str(status))
    check(name + ': the message says why', wanted in message, message)
    check(name + ': the image is unchanged',
          len(image.get_layers()) == 1 and pixels(layer, "R'G'B' u8") == before)


def test_errors():
    image, layer = new_image(Gimp.ImageBaseType.RGB,
                             Gimp.Precision.U8_NON_LINEAR,
                             Gimp.ImageType.RGB_IMAGE, layer_size=(32, 24),
                             offsets=(0, 0))
    expect_error('inpaint with nothing selected', image, layer,
                 'plug-in-diffusion-inpaint', 'Nothing is selected',
                 model=MODEL, **FAST)
    image.select_rectangle(Gimp.ChannelOps.REPLACE, 40, 30, 10, 10)
    expect_error('a selection that misses the layer', image, layer,
                 'plug-in-diffusion-inpaint', 'does not touch',
                 model=MODEL, **FAST)
    image.select_rectangle(Gimp.ChannelOps.REPLACE, 4, 4, 10, 10)
    missing = os.path.join(DATA, 'no-such-model')
    expect_error('a missing model', image, layer,
                 'plug-in-diffusion-inpaint', 'no-such-model',
                 model=missing, **FAST)
    expect_error('a file that is no model', image, layer,
                 'plug-in-diffusion-generate', 'config.json',
                 model=os.path.join(MODEL, 'config.json'), **FAST)
    expect_error('no model given', image, layer, 'plug-in-diffusion-inpaint',
                 'no model chosen', **FAST)


SD_SAMPLERS = ('euler', 'euler-ancestral', 'dpmpp-2m-karras', 'lcm')


def cli_sampler_names():
    """The sampler names `gimp-diffusion inpaint --help` lists."""
    done = subprocess.run([CLI, 'inpaint', '--help'], capture_output=True,
                          text=True)
    found = re.search(r'--sampler=NAME .*?: ([a-z0-9, +-]+) \(default',
                      done.stdout)
    return found.group(1).split(', ') if found else []


def test_sampler_choice():
    """The sampler argument offers core's table, the Stable Diffusion
    samplers included (the CLI's list, when there is a CLI), and Heal runs
    with each of those four: only the selection changes."""
    procedure = Gimp.get_pdb().lookup_procedure('plug-in-diffusion-inpaint')
    choice = Gimp.param_spec_choice_get_choice(
        procedure.find_argument('sampler'))
    names = list(choice.list_nicks())
    check('the sampler choice has the four SD samplers',
          all(name in names for name in SD_SAMPLERS), str(names))
    if CLI:
        listed = cli_sampler_names()
        check('the sampler choice is the CLI\'s list', names == listed,
              '%s vs %s' % (names, listed))
    for sampler in SD_SAMPLERS:
        image, layer = new_image(Gimp.ImageBaseType.RGB,
                                 Gimp.Precision.U8_NON_LINEAR,
                                 Gimp.ImageType.RGB_IMAGE)
        image.select_rectangle(Gimp.ChannelOps.REPLACE, 20, 12, 16, 14)
        before = pixels(layer, "R'G'B' u8")
        selection = selection_values(image, layer)
        status, message = run('plug-in-diffusion-inpaint', image, layer,
                              model=MODEL, new_layer=False, sampler=sampler,
                              **FAST)
        check('Heal with %s succeeds' % sampler,
              status == Gimp.PDBStatusType.SUCCESS, message)
        compare('Heal with %s' % sampler, before, pixels(layer, "R'G'B' u8"),
                selection)
        image.delete()


def test_same_as_cli():
    """Heal with its defaults and `gimp-diffusion inpaint` with none (the
    same option table's defaults) fill a selection with the same pixels,
    to the rounding of 8-bit output: the plug-in reads only the work area,
    placed in the image for the noise, the CLI the whole image."""
    image, layer = new_image(Gimp.ImageBaseType.RGB,
                             Gimp.Precision.U8_NON_LINEAR,
                             Gimp.ImageType.RGB_IMAGE, size=(96, 80))
    tmp = os.environ['DM_TEST_TMP']
    source, mask = os.path.join(tmp, 'heal.png'), os.path.join(tmp, 'heal.pgm')
    Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, image,
                   Gio.File.new_for_path(source), None)
    x0, y0, width, height = 60, 44, 18, 14
    with open(mask, 'wb') as out:
        out.write(b'P5\n96 80\n255\n' + bytes(
            255 if x0 <= x < x0 + width and y0 <= y < y0 + height else 0
            for y in range(80) for x in range(96)))
    image.select_rectangle(Gimp.ChannelOps.REPLACE, x0, y0, width, height)
    status, message = run('plug-in-diffusion-inpaint', image, layer,
                          model=MODEL)
    check('defaults: Heal succeeds', status == Gimp.PDBStatusType.SUCCESS,
          message)
    healed = pixels(image.get_layers()[0], "R'G'B' u8")
    out = os.path.join(tmp, 'healed.png')
    done = subprocess.run([CLI, 'inpaint', '-q', '--model', MODEL, '--image',
                           source, '--mask', mask, '--out', out],
                          capture_output=True, text=True)
    check('defaults: the CLI succeeds', done.returncode == 0, done.stderr)
    if done.returncode != 0:
        return
    result = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE,
                            Gio.File.new_for_path(out))
    cli = pixels(result.get_layers()[0], "R'G'B' u8")
    result.delete()
    worst = max(abs(a - b) for p, q in zip(healed, cli) for a, b in zip(p, q))
    check('defaults: Heal and the CLI give the same pixels (8-bit rounding)',
          worst <= 1, 'largest difference %d levels' % worst)


def wait_for(condition, seconds=30):
    """Polls `condition` until it holds or `seconds` pass; its last value."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.2)
    return condition()


def press_undo(image):
    """Presses Ctrl+Z in the window showing `image`, as a user would (GIMP
    3's PDB has no undo step). The window's title holds "-<image id>."."""
    Gimp.displays_flush()
    marker = '-%d.' % image.get_id()
    windows = subprocess.run(['xdotool', 'search', '--onlyvisible',
                              '--name', ' – GIMP$'], capture_output=True,
                             text=True).stdout.split()
    window = next(w for w in windows if marker in subprocess.run(
        ['xdotool', 'getwindowname', w], capture_output=True,
        text=True).stdout)
    subprocess.run(['xdotool', 'windowfocus', '--sync', window, 'key',
                    'ctrl+z'], check=True)


def shown_ellipse_image():
    """An 8-bit RGB image shown in a window (for press_undo) with an
    elliptic selection: image, layer, display, the selection's values and
    the layer's pixels."""
    image, layer = new_image(Gimp.ImageBaseType.RGB,
                             Gimp.Precision.U8_NON_LINEAR,
                             Gimp.ImageType.RGB_IMAGE)
    display = Gimp.Display.new(image)
    image.select_ellipse(Gimp.ChannelOps.REPLACE, 16, 12, 28, 20)
    return (image, layer, display, selection_values(image, layer),
            pixels(layer, "R'G'B' u8"))


def test_undo():
    """One undo restores the image bit for bit, in place and with a new
    layer: the run is one undo step (the selection, the step before it,
    stays)."""
    for new_layer in (False, True):
        name = 'undo, new layer %s' % new_layer
        image, layer, display, selection, before = shown_ellipse_image()
        status, message = run('plug-in-diffusion-inpaint', image, layer,
                              model=MODEL, new_layer=new_layer, **FAST)
        check(name + ': inpaint succeeds',
              status == Gimp.PDBStatusType.SUCCESS and
              (len(image.get_layers()) == 2 if new_layer else
               pixels(layer, "R'G'B' u8") != before), message)
        press_undo(image)
        restored = wait_for(lambda: len(image.get_layers()) == 1 and
                            pixels(layer, "R'G'B' u8") == before)
        check(name + ': one undo restores the pixels and layers', restored,
              '%d layers' % len(image.get_layers()))
        check(name + ': the selection stays',
              selection_values(image, layer) == selection)
        display.delete()


def test_mask_model():
    """A mask-conditioned model: known pixels bit-exact, the fill changes
    with the guidance scale; an unconditional model ignores the scale; the
    strength changes the fill."""
    image, layer = new_image(Gimp.ImageBaseType.RGB,
                             Gimp.Precision.U8_NON_LINEAR,
                             Gimp.ImageType.RGB_IMAGE)
    image.select_ellipse(Gimp.ChannelOps.REPLACE, 16, 12, 28, 20)
    before = pixels(layer, "R'G'B' u8")
    selection = selection_values(image, layer)
    results = {}
    for model, name in ((MASK_MODEL, 'mask'), (MODEL, 'unconditional')):
        for scale in (1.0, 2.0):
            label = '%s model, guidance %g' % (name, scale)
            status, message = run('plug-in-diffusion-inpaint', image, layer,
                                  model=model, guidance_scale=scale, **FAST)
            check(label + ': inpaint succeeds',
                  status == Gimp.PDBStatusType.SUCCESS, message)
            result = image.get_layers()[0]
            results[label] = pixels(result, "R'G'B' u8")
            compare(label, before, results[label], selection)
            image.remove_layer(result)
    check('mask model: guidance 2 fills otherwise than 1',
          results['mask model, guidance 1'] !=
          results['mask model, guidance 2'])
    check('unconditional model: guidance 2 is ignored',
          results['unconditional model, guidance 1'] ==
          results['unconditional model, guidance 2'])
    # Heal's default strength starts from the smooth fill; 1 from noise
    status, message = run('plug-in-diffusion-inpaint', image, layer,
                          model=MODEL, strength=1.0, **FAST)
    check('strength 1: inpaint succeeds',
          status == Gimp.PDBStatusType.SUCCESS, message)
    result = image.get_layers()[0]
    from_noise = pixels(result, "R'G'B' u8")
    compare('strength 1', before, from_noise, selection)
    image.remove_layer(result)
    check('strength 1 fills otherwise than the default',
          from_noise != results['unconditional model, guidance 1'])
    status, message = run('plug-in-diffusion-generate', image, layer,
                          model=MASK_MODEL, **FAST)
    check('mask model: generate succeeds',
          status == Gimp.PDBStatusType.SUCCESS, message)


def test_from_pixels():
    """Heal from the layer's pixels: at the lowest strength, edges not
    matched, the fill keeps the colour painted into the selection; from the
    smooth fill (the default) it does not."""
    image, layer = new_image(Gimp.ImageBaseType.RGB,
                             Gimp.Precision.U8_NON_LINEAR,
                             Gimp.ImageType.RGB_IMAGE)
    image.select_rectangle(Gimp.ChannelOps.REPLACE, 16, 12, 24, 16)
    Gimp.context_push()
    Gimp.context_set_foreground(Gegl.Color.new('#ff0000'))
    layer.edit_fill(Gimp.FillType.FOREGROUND)
    Gimp.context_pop()
    selection = selection_values(image, layer)
    inside = [i for i, s in enumerate(selection) if s == 255]
    for from_pixels in (True, False):
        name = 'from the layer\'s pixels' if from_pixels else 'smooth start'
        status, message = run('plug-in-diffusion-inpaint', image, layer,
                              model=MODEL, strength=0.05,
                              from_pixels=from_pixels, match_edges=False,
                              **FAST)
        check(name + ': inpaint succeeds',
              status == Gimp.PDBStatusType.SUCCESS, message)
        result = image.get_layers()[0]
        values = pixels(result, "R'G'B' u8")
        red = sum(values[i][0] - values[i][1] for i in inside) / len(inside)
        image.remove_layer(result)
        check(name + ': red minus green in the selection %s 200' %
              ('above' if from_pixels else 'below'),
              (red > 200) == from_pixels, 'mean %.1f' % red)


def find_window(title, seconds=120):
    """The id of the shown window titled `title` (a regular expression),
    waiting for it to be mapped (focusing a window before that fails);
    None if it is not."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        windows = subprocess.run(['xdotool', 'search', '--onlyvisible',
                                  '--name', title],
                                 capture_output=True, text=True).stdout
        if windows.split():
            return windows.split()[0]
        time.sleep(0.2)
    return None


def type_model(model):
    """In the inpainting dialog, types `model` into the model box, moves
    on (Tab, to Browse…) and waits for it to be loaded and measured; False
    when the dialog does not show."""
    window = find_window('^Heal Selection .Diffusion.$')
    if window is None:
        return False
    subprocess.run(['xdotool', 'windowfocus', '--sync', window, 'key',
                    'alt+m', 'ctrl+a', 'BackSpace'], check=True)
    subprocess.run(['xdotool', 'type', '--delay', '10', model], check=True)
    subprocess.run(['xdotool', 'key', 'Tab'], check=True)
    time.sleep(8)
    return True


def operate_dialog(model, scale):
    """In the inpainting dialog, types `model` (type_model), then tries the
    guidance scale's mnemonic (Alt+F) and types `scale` there (where the
    focus stays on a button when the scale is hidden), and presses OK
    (Alt+O)."""
    if not type_model(model):
        return
    subprocess.run(['xdotool', 'key', 'alt+f', 'ctrl+a'], check=True)
    subprocess.run(['xdotool', 'type', scale], check=True)
    subprocess.run(['xdotool', 'key', 'Tab', 'alt+o'], check=True)


def inpaint_in_dialog(image, layer, model, scale):
    """Runs the inpainting interactively, operate_dialog() working the
    dialog: (status, message)."""
    operator = threading.Thread(target=operate_dialog, args=(model, scale))
    operator.start()
    result = run('plug-in-diffusion-inpaint', image, layer,
                 run_mode=Gimp.RunMode.INTERACTIVE)
    operator.join()
    return result


def last_values():
    """The model and guidance scale of the inpainting's last values, which
    GIMP keeps in the profile after an interactive run."""
    folder = os.path.join(os.environ['GIMP3_DIRECTORY'], 'plug-in-settings')
    names = [n for n in os.listdir(folder)
             if 'plug-in-diffusion-inpaint' in n and n.endswith('.last')]
    with open(os.path.join(folder, names[0])) as settings:
        text = settings.read()
    model = re.search(r'\(model "([^"]*)"\)', text)
    scale = re.search(r'\(guidance-scale ([0-9.eE+-]+)\)', text)
    return (model.group(1) if model else None,
            float(scale.group(1)) if scale else None)


def test_dialog_guidance():
    """The dialog shows the guidance scale for a mask-conditioned model
    only, following the model typed in: the scale typed in the dialog is
    taken with the mask model (the dialog opens with no model, so the scale
    was hidden first) and not with the unconditional one (the dialog opens
    with the last values' mask model, so it was shown first)."""
    image, layer = new_image(Gimp.ImageBaseType.RGB,
                             Gimp.Precision.U8_NON_LINEAR,
                             Gimp.ImageType.RGB_IMAGE)
    image.select_ellipse(Gimp.ChannelOps.REPLACE, 16, 12, 28, 20)
    # the scale typed with the mask model is taken, the one typed with the
    # unconditional model is not: the last values keep 7
    for model, name, typed, shown in ((MASK_MODEL, 'mask', '7', 'shown'),
                                      (MODEL, 'unconditional', '3',
                                       'hidden')):
        status, message = inpaint_in_dialog(image, layer, model, typed)
        check('dialog, %s model: the run succeeds' % name,
              status == Gimp.PDBStatusType.SUCCESS, message)
        values = last_values()
        check('dialog, %s model: the guidance scale is %s' % (name, shown),
              values == (model, 7.0), str(values))


def plugin_pids():
    """Process ids of running gimp-diffusion-plugin processes."""
    pids = []
    for entry in os.listdir('/proc'):
        try:
            exe = os.readlink('/proc/%s/exe' % entry)
        except (OSError, ValueError):
            continue
        if entry.isdigit() and os.path.basename(exe) == 'gimp-diffusion-plugin':
            pids.append(int(entry))
    return pids


def cpu_seconds(pid):
    """User + system CPU seconds process `pid` has used (0 once gone)."""
    try:
        with open('/proc/%d/stat' % pid) as stat:
            fields = stat.read().rsplit(')', 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def kill_when_sampling(killed):
    """Kills the plug-in once it has used a second of CPU (loading the
    model takes milliseconds, so it is sampling), as GIMP's cancel does:
    GIMP asks the plug-in to quit and kills it 10 ms later."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for pid in plugin_pids():
            if cpu_seconds(pid) >= 1.0:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
        time.sleep(0.05)


def test_stopped_while_sampling():
    """A run stopped while sampling (as GIMP's cancel stops it: at once)
    leaves the image as it was: nothing is written before sampling ends."""
    image, layer = new_image(Gimp.ImageBaseType.RGB,
                             Gimp.Precision.U8_NON_LINEAR,
                             Gimp.ImageType.RGB_IMAGE)
    image.select_ellipse(Gimp.ChannelOps.REPLACE, 16, 12, 28, 20)
    before = pixels(layer, "R'G'B' u8")
    killed = []
    killer = threading.Thread(target=kill_when_sampling, args=(killed,))
    killer.start()
    status, message = run('plug-in-diffusion-inpaint', image, layer,
                          model=MODEL, new_layer=False, steps=1000, seed=7)
    killer.join()
    check('stopped while sampling: the run fails',
          killed and status != Gimp.PDBStatusType.SUCCESS,
          'killed %s, status %s' % (killed, status))
    check('stopped while sampling: the image is unchanged',
          len(image.get_layers()) == 1 and
          pixels(layer, "R'G'B' u8") == before)


def make_sd_checkpoint():
    """A tiny SD 1.x-layout inpainting pipeline folder, installed as the
    model 'sd-tiny' in the profile's data folder: its path, or None when
    there is no CLIP vocabulary to make it with."""
    models = os.path.join(os.environ['XDG_DATA_HOME'], 'gimp-diffusion',
                          'models')
    os.makedirs(models, exist_ok=True)
    folder = os.path.join(models, 'sd-tiny')
    made = subprocess.run([MAKE_SD, folder, '--tiny', 'inpaint'],
                          capture_output=True, text=True)
    if made.returncode != 0:
        print('skip Stable Diffusion: ' + made.stderr.strip())
        return None
    return folder


SD_FAST = {'steps': 3, 'seed': 7, 'guidance_scale': 7.5,
           'sampler': 'dpmpp-2m-karras'}


def test_sd_checkpoint():
    """Heal and generate with a Stable Diffusion checkpoint and prompts:
    pixels outside the selection bit-exact, one undo step; the installed
    checkpoint found by name; the prompt read; a checkpoint without its
    tokenizer refused naming it; a pixel-space model ignores a prompt."""
    folder = make_sd_checkpoint()
    if folder is None:
        return
    image, layer, display, selection, before = shown_ellipse_image()
    status, message = run('plug-in-diffusion-inpaint', image, layer,
                          model='sd-tiny', prompt='a red brick wall',
                          negative_prompt='blurry', new_layer=False,
                          **SD_FAST)
    check('SD heal by installed name succeeds',
          status == Gimp.PDBStatusType.SUCCESS, message)
    healed = pixels(layer, "R'G'B' u8")
    compare('SD heal', before, healed, selection)
    press_undo(image)
    check('SD heal: one undo restores the pixels',
          wait_for(lambda: pixels(layer, "R'G'B' u8") == before))
    status, message = run('plug-in-diffusion-inpaint', image, layer,
                          model=folder, prompt='a green meadow',
                          negative_prompt='blurry', **SD_FAST)
    check('SD heal with another prompt succeeds',
          status == Gimp.PDBStatusType.SUCCESS, message)
    other = pixels(image.get_layers()[0], "R'G'B' u8")
    check('SD heal: the prompt changes the fill', other != healed)
    image.remove_layer(image.get_layers()[0])

    image.select_rectangle(Gimp.ChannelOps.REPLACE, 8, 8, 32, 24)
    status, message = run('plug-in-diffusion-generate', image, layer,
                          model=folder, prompt='a lighthouse',
                          new_layer=False, **SD_FAST)
    check('SD generate succeeds', status == Gimp.PDBStatusType.SUCCESS,
          message)
    compare('SD generate into the selection', before,
            pixels(layer, "R'G'B' u8"), selection_values(image, layer))
    press_undo(image)
    check('SD generate: one undo restores the pixels',
          wait_for(lambda: pixels(layer, "R'G'B' u8") == before))
    display.delete()

    broken = os.path.join(os.environ['DM_TEST_TMP'], 'sd-no-tokenizer')
    subprocess.run(['cp', '-RP', folder, broken], check=True)
    subprocess.run(['rm', '-r', os.path.join(broken, 'tokenizer')],
                   check=True)
    image2, layer2 = new_image(Gimp.ImageBaseType.RGB,
                               Gimp.Precision.U8_NON_LINEAR,
                               Gimp.ImageType.RGB_IMAGE)
    image2.select_ellipse(Gimp.ChannelOps.REPLACE, 16, 12, 28, 20)
    expect_error('SD checkpoint without its tokenizer', image2, layer2,
                 'plug-in-diffusion-inpaint', 'tokenizer', model=broken,
                 prompt='a wall', **SD_FAST)
    status, message = run('plug-in-diffusion-inpaint', image2, layer2,
                          model=MODEL, prompt='a wall', **FAST)
    check('a pixel-space model ignores the prompt',
          status == Gimp.PDBStatusType.SUCCESS, message)


def operate_sd_dialog(model):
    """In the inpainting dialog, types `model` (type_model: loading it
    moves the defaults to the checkpoint's) and presses OK."""
    if type_model(model):
        subprocess.run(['xdotool', 'key', 'alt+o'], check=True)


def test_dialog_sd():
    """With a Stable Diffusion checkpoint typed in, the sampler, steps and
    guidance still at the pixel models' defaults move to the checkpoint's:
    the run's layer is named after DPM++ 2M Karras in 20 steps."""
    if not os.path.isdir(os.path.join(os.environ['XDG_DATA_HOME'],
                                      'gimp-diffusion', 'models',
                                      'sd-tiny')):
        return  # made by test_sd_checkpoint, skipped there
    image, layer = new_image(Gimp.ImageBaseType.RGB,
                             Gimp.Precision.U8_NON_LINEAR,
                             Gimp.ImageType.RGB_IMAGE)
    image.select_ellipse(Gimp.ChannelOps.REPLACE, 16, 12, 28, 20)
    operator = threading.Thread(target=operate_sd_dialog, args=('sd-tiny',))
    operator.start()
    status, message = run('plug-in-diffusion-inpaint', image, layer,
                          run_mode=Gimp.RunMode.INTERACTIVE)
    operator.join()
    check('dialog, SD checkpoint: the run succeeds',
          status == Gimp.PDBStatusType.SUCCESS, message)
    name = image.get_layers()[0].get_name()
    check('dialog, SD checkpoint: the checkpoint\'s sampler and steps',
          name.startswith('sd-tiny dpmpp-2m-karras 20 '), name)
    # test_dialog_guidance leaves 7 in the last values: a value the user
    # chose stays; else the pixel models' 1 moves to 7.5
    scale = 7.0 if MASK_MODEL else 7.5
    check('dialog, SD checkpoint: guidance %g' % scale,
          last_values() == ('sd-tiny', scale), str(last_values()))


# The stopped run last: GIMP reports the crash in a message window.
tests = (test_inpaint_new_layer, test_inpaint_in_place_soft,
         test_rgba16_offsets, test_grey_float, test_generate, test_errors,
         test_undo, test_from_pixels, test_sampler_choice)
if CLI:
    tests += (test_same_as_cli,)
else:
    print('skip the comparison with the CLI: no DM_TEST_CLI')
if MAKE_SD:
    tests += (test_sd_checkpoint,)
else:
    print('skip Stable Diffusion: no DM_TEST_MAKE_SD')
if MASK_MODEL:
    tests += (test_mask_model, test_dialog_guidance)
else:
    print('skip the mask-conditioned model: no DM_TEST_MASK_MODEL')
if MAKE_SD:
    tests += (test_dialog_sd,)  # after test_dialog_guidance's last values
for test in tests + (test_stopped_while_sampling,):
    try:
        test()
    except Exception as exception:  # report, then go on with the others
        check(test.__name__, False, repr(exception))

for image in Gimp.get_images():
    image.delete()
print('%d failure(s)' % len(failures))
if not failures:
    with open(os.path.join(os.environ['DM_TEST_TMP'], 'result'), 'w') as out:
        out.write('PASS')
