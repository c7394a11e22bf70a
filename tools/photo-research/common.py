import glob, numpy as np
from PIL import Image
TRAIN=sorted(glob.glob(__import__('os').path.join(__import__('os').path.dirname(__file__), '../../data/photos/train/*')))
def load(f): return np.asarray(Image.open(f).convert('L'),dtype=np.float32)/255.
# held-out tuning regions (file stem, y, x), 128x128, excluded from training patch sampling
TUNE=[('camera',60,200),('ascent',200,150),('motorcycle_right',200,300),('rocket',150,250)]
C=128
def tune_crops():
    out=[]
    for stem,y,x in TUNE:
        f=[t for t in TRAIN if t.split('/')[-1].startswith(stem+'.')][0]
        out.append((stem,load(f)[y:y+C,x:x+C].copy()))
    return out
def noisy(c,sig,seed):
    r=np.random.default_rng(seed); return (c+r.normal(0,sig/255.,c.shape)).astype(np.float32)
def mask(c,seed,frac=0.5):
    r=np.random.default_rng(1000+seed); return (r.random(c.shape)>=frac)  # True = observed
def psnr(c,o): return 10*np.log10(1/np.mean((c-np.clip(o,0,1))**2))
