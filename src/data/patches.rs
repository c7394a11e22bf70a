//! Random square patches of larger images, for training a prior of natural images: a fresh
//! set each epoch, a function of (seed, epoch) alone, so `--resume` sees the same patches as
//! an uninterrupted run.

use rand::{Rng, SeedableRng};

use super::{DataError, Dataset};

/// One image at its own size, planar `u8` (CHW).
#[derive(Clone, Debug, PartialEq)]
pub struct Image {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub pixels: Vec<u8>,
}

impl Image {
    fn at(&self, c: usize, y: usize, x: usize) -> u8 {
        self.pixels[(c * self.height + y) * self.width + x]
    }
}

/// How a patch set is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PatchSpec {
    /// Side of the square patches.
    pub size: usize,
    pub count: usize,
    /// Each patch flipped and rotated by one of the square's 8 symmetries at random.
    pub augment: bool,
}

/// `spec.count` patches: each position of every image equally likely (an image is picked
/// with probability proportional to its number of patch positions), drawn from `seed`.
/// Images smaller than the patch are skipped; `what` names the source in the error when all
/// are.
pub fn random_patches(
    images: &[Image],
    spec: PatchSpec,
    seed: u64,
    what: &str,
) -> Result<Dataset, DataError> {
    let p = spec.size;
    let positions: Vec<u64> = images
        .iter()
        .map(|im| {
            if im.height >= p && im.width >= p {
                ((im.height - p + 1) * (im.width - p + 1)) as u64
            } else {
                0
            }
        })
        .collect();
    let total: u64 = positions.iter().sum();
    let channels = images.first().map_or(1, |im| im.channels);
    if total == 0 || p == 0 {
        let largest = images
            .iter()
            .max_by_key(|im| im.height.min(im.width))
            .map_or((0, 0), |im| (im.height, im.width));
        return Err(DataError::PatchTooLarge {
            what: what.to_string(),
            size: p,
            height: largest.0,
            width: largest.1,
        });
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let dim = channels * p * p;
    let mut out = Vec::with_capacity(spec.count * dim);
    for _ in 0..spec.count {
        // the position-th patch position over all images
        let mut pos = rng.random_range(0..total);
        let mut i = 0;
        while pos >= positions[i] {
            pos -= positions[i];
            i += 1;
        }
        let im = &images[i];
        let span = (im.width - p + 1) as u64;
        let (y0, x0) = ((pos / span) as usize, (pos % span) as usize);
        let symmetry = if spec.augment {
            rng.random_range(0..8u8)
        } else {
            0
        };
        for c in 0..channels {
            for y in 0..p {
                for x in 0..p {
                    let (sy, sx) = dihedral(symmetry, y, x, p);
                    out.push(im.at(c, y0 + sy, x0 + sx));
                }
            }
        }
    }
    Ok(Dataset {
        images: out,
        labels: None,
        count: spec.count,
        height: p,
        width: p,
        channels,
    })
}

/// The source position of output (y, x) under symmetry `s` of a p x p square: bit 0 mirrors
/// left-right, bit 1 mirrors top-bottom, bit 2 transposes (the four mirror combinations
/// times the transpose are the square's 8 flips and quarter turns).
fn dihedral(s: u8, y: usize, x: usize, p: usize) -> (usize, usize) {
    let (mut y, mut x) = (y, x);
    if s & 1 != 0 {
        x = p - 1 - x;
    }
    if s & 2 != 0 {
        y = p - 1 - y;
    }
    if s & 4 != 0 {
        std::mem::swap(&mut y, &mut x);
    }
    (y, x)
}
