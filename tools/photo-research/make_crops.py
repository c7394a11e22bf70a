"""The two scored test crops (128x128 grey, from astronaut and coffee) and their sigma-25 noisy
versions, as the results in results/ used them: crops/<name>-clean.png, crops/<name>-n25.png."""
import os
import numpy as np
from PIL import Image
HERE = os.path.dirname(os.path.abspath(__file__))
os.makedirs(os.path.join(HERE, 'crops'), exist_ok=True)
for name, photo, (y, x) in [('astro', 'astronaut', (150, 200)), ('coffee', 'coffee', (100, 250))]:
    a = np.asarray(Image.open(os.path.join(HERE, f'../../data/photos/test/{photo}.png')).convert('L'))
    c = a[y:y + 128, x:x + 128]
    Image.fromarray(c).save(os.path.join(HERE, f'crops/{name}-clean.png'))
    rng = np.random.default_rng(1)
    n = np.clip(np.round(c + rng.normal(0, 25, c.shape)), 0, 255).astype(np.uint8)
    Image.fromarray(n).save(os.path.join(HERE, f'crops/{name}-n25.png'))
