# The main job, run by `scripts/dev demo` through tests/test-gimp.sh (GIMP 3
# with the plug-in in a fresh profile): GIMP heals the spoon out of the
# sample photo docs/demo/coffee.png with the bundled model "photo", found
# by name among the installed models, and exports the result.
# DM_TEST_DATA is the source tree; the result goes to $DM_DEMO_OUT.
# Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
import os

from gi.repository import Gimp, Gio

source = os.environ['DM_TEST_DATA']
out_dir = os.environ['DM_DEMO_OUT']
# The bundled models, installed for this profile's user as `meson install`
# would install them for everyone.
user_models = os.path.join(os.environ['XDG_DATA_HOME'], 'gimp-diffusion')
os.makedirs(user_models, exist_ok=True)
os.symlink(os.path.join(source, 'models'), os.path.join(user_models, 'models'))

image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(
    os.path.join(source, 'docs', 'demo', 'coffee.png')))
layer = image.get_selected_layers()[0]
image.select_ellipse(Gimp.ChannelOps.REPLACE, 136, 128, 68, 90)
procedure = Gimp.get_pdb().lookup_procedure('plug-in-diffusion-inpaint')
config = procedure.create_config()
for name, value in (('run-mode', Gimp.RunMode.NONINTERACTIVE),
                    ('image', image), ('model', 'photo'), ('sampler', 'ddim'),
                    ('steps', 25), ('seed', 1), ('new-layer', False)):
    config.set_property(name, value)
config.set_core_object_array('drawables', [layer])
result = procedure.run(config)
if result.index(0) != Gimp.PDBStatusType.SUCCESS:
    print('demo: healing failed:', result.index(1))
else:
    os.makedirs(out_dir, exist_ok=True)
    healed = os.path.join(out_dir, 'coffee-healed.png')
    Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, image,
                   Gio.File.new_for_path(healed), None)
    print('demo: healed; the result is', os.path.basename(healed),
          'in the demo-out folder of the source tree')
    with open(os.path.join(os.environ['DM_TEST_TMP'], 'result'), 'w') as f:
        f.write('PASS')
