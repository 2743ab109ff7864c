# The plug-in in GIMP 3 under LANGUAGE=zh_CN (run by test-gimp.sh, through
# run-in-locale.sh, inside gimp-console-3.0 with python-fu-eval): its menu
# label, as registered, and its error messages come from the zh_CN
# catalogue.
# Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
import os

import gi
gi.require_version('Gimp', '3.0')
from gi.repository import Gimp  # noqa: E402

failures = []


def check(name, got, expected):
    ok = got == expected
    print(('ok   ' if ok else 'FAIL ') + name +
          ('' if ok else ': expected %r, got %r' % (expected, got)))
    if not ok:
        failures.append(name)


inpaint = Gimp.get_pdb().lookup_procedure('plug-in-diffusion-inpaint')
check('menu label', inpaint.get_menu_label(), '修复选区（扩散）(_H)…')

image = Gimp.Image.new(32, 32, Gimp.ImageBaseType.RGB)
layer = Gimp.Layer.new(image, 'source', 32, 32, Gimp.ImageType.RGB_IMAGE,
                       100, Gimp.LayerMode.NORMAL)
image.insert_layer(layer, None, 0)
config = inpaint.create_config()
config.set_property('run-mode', Gimp.RunMode.NONINTERACTIVE)
config.set_property('image', image)
config.set_core_object_array('drawables', [layer])
config.set_property('model', os.path.join(os.environ['DM_TEST_DATA'],
                                          'tiny_attn'))
result = inpaint.run(config)
check('nothing selected: status', result.index(0),
      Gimp.PDBStatusType.EXECUTION_ERROR)
check('nothing selected: message',
      result.index(1) if result.length() > 1 else None,
      '没有选中任何内容：请选择图层中要修复的部分')
image.delete()

print('%d failure(s)' % len(failures))
if not failures:
    with open(os.path.join(os.environ['DM_TEST_TMP'], 'result'), 'w') as out:
        out.write('PASS')
