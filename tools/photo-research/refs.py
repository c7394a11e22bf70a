import numpy as np, sys
from PIL import Image
from common import *
from skimage.restoration import denoise_tv_chambolle, inpaint_biharmonic
import bm3d
crops=tune_crops()
tests=[('astro',np.asarray(Image.open('crops/astro-clean.png').convert('L'),np.float32)/255.),('coffee',np.asarray(Image.open('crops/coffee-clean.png').convert('L'),np.float32)/255.)]
ws=[0.02,0.03,0.04,0.05,0.06,0.08,0.1,0.12,0.15,0.2,0.25]
for sig in [15,25,50]:
    # TV weight chosen per sigma on tuning crops
    tv=np.array([[psnr(c,denoise_tv_chambolle(noisy(c,sig,i),weight=w)) for w in ws] for i,(n,c) in enumerate(crops)])
    bw=ws[int(tv.mean(0).argmax())]
    print(f'sig{sig} TV best weight {bw}; per-crop TV at that weight',[f'{v:.2f}' for v in tv[:,ws.index(bw)]],'mean %.2f'%tv[:,ws.index(bw)].mean(),flush=True)
    for i,(n,c) in enumerate(crops):
        y=noisy(c,sig,i); print(f'  tune {n} noisy {psnr(c,y):.2f} TV {psnr(c,denoise_tv_chambolle(y,weight=bw)):.2f} BM3D {psnr(c,bm3d.bm3d(y,sig/255.)):.2f}',flush=True)
    for i,(n,c) in enumerate(tests):
        y=noisy(c,sig,100+i)
        if sig==25: y=np.asarray(Image.open(f'crops/{n}-n25.png').convert('L'),np.float32)/255.
        print(f'  test {n} noisy {psnr(c,y):.2f} TV {psnr(c,denoise_tv_chambolle(y,weight=bw)):.2f} BM3D {psnr(c,bm3d.bm3d(y,sig/255.)):.2f}',flush=True)
for i,(n,c) in enumerate(crops+tests):
    m=mask(c,i if i<len(crops) else 100+i)
    print(f'inpaint50 {n} masked-zero {psnr(c,c*m):.2f} biharmonic {psnr(c,inpaint_biharmonic(c*m,~m)):.2f}',flush=True)
