//! The one GPU queue: a thread that owns the device and runs the requests one at a time, fed
//! through a bounded channel, so that a burst of uploads waits in line (or is told to come
//! back: 503) instead of contending for the GPU.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::ops::Deref;
use std::path::Path;
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};

use tokio::sync::oneshot;

use crate::enhance::{apply_gpu, Step};
use crate::gpu::GpuContext;
use crate::picture::Picture;
use crate::restore::mask::mask_from_bytes;
use crate::restore::prior::{BuiltinModel, ModelSource};
use crate::restore::request::model_for;
use crate::restore::{Prior, RestoreOptions, Restorer};
use crate::serve::error::ApiError;
use crate::serve::form::{Form, RestoreSettings};

/// What the GPU thread is asked to do.
pub enum Job {
    /// Restore the form's picture as its settings say.
    Restore(Form, Box<RestoreSettings>),
    /// Apply the steps to the form's picture.
    Enhance(Form, Vec<Step>),
}

/// A job and where its PNG (or failure) goes.
type Queued = (Job, oneshot::Sender<Result<Vec<u8>, ApiError>>);

/// The sending side of the GPU queue; cheap to clone.
#[derive(Clone)]
pub struct GpuQueue {
    jobs: SyncSender<Queued>,
}

impl GpuQueue {
    /// Starts the GPU thread on `ctx` with room for `capacity` waiting jobs.
    pub fn start<C>(ctx: C, capacity: usize) -> GpuQueue
    where
        C: Deref<Target = GpuContext> + Send + 'static,
    {
        let (jobs, inbox) = sync_channel::<Queued>(capacity);
        std::thread::Builder::new()
            .name("wgvae-gpu".into())
            .spawn(move || {
                let mut priors: HashMap<BuiltinModel, Prior> = HashMap::new();
                for (job, reply) in inbox {
                    let result = run(&ctx, &mut priors, job);
                    // the client may have gone (a timeout): nobody to tell
                    let _ = reply.send(result);
                }
            })
            .expect("the GPU thread starts");
        GpuQueue { jobs }
    }

    /// Queues `job` and waits for its PNG; 503 at once when the queue is full.
    pub async fn submit(&self, job: Job) -> Result<Vec<u8>, ApiError> {
        let (tx, rx) = oneshot::channel();
        match self.jobs.try_send((job, tx)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(ApiError::busy()),
            Err(TrySendError::Disconnected(_)) => {
                return Err(ApiError::internal("the GPU thread has stopped"))
            }
        }
        rx.await
            .unwrap_or_else(|_| Err(ApiError::internal("the GPU thread dropped the request")))
    }
}

/// One job on the GPU thread: the picture decoded, the work done, the result as PNG bytes.
fn run(
    ctx: &GpuContext,
    priors: &mut HashMap<BuiltinModel, Prior>,
    job: Job,
) -> Result<Vec<u8>, ApiError> {
    let out = match job {
        Job::Restore(form, settings) => restore(ctx, priors, &form, *settings)?,
        Job::Enhance(form, steps) => {
            let picture = Picture::from_bytes(&form.image, Path::new("image"))?;
            apply_gpu(ctx, &picture, &steps).map_err(|e| ApiError::internal(e.to_string()))?
        }
    };
    png(&out)
}

/// `wgvae restore`'s steps on one picture: the damage (noise estimated when none is
/// described), the model the picture suits unless one is named, the method.
fn restore(
    ctx: &GpuContext,
    priors: &mut HashMap<BuiltinModel, Prior>,
    form: &Form,
    settings: RestoreSettings,
) -> Result<Picture, ApiError> {
    let picture = Picture::from_bytes(&form.image, Path::new("image"))?;
    let mut damage = settings.damage;
    if let Some(bytes) = &form.mask {
        damage.mask = Some(mask_from_bytes(
            bytes,
            Path::new("mask"),
            picture.height,
            picture.width,
        )?);
    }
    let (deg, _) = damage.restoring(&picture)?;
    let named = settings.model.map(ModelSource::Builtin);
    let (source, _) = model_for(named.as_ref(), &picture);
    let ModelSource::Builtin(model) = source else {
        unreachable!("requests name built-in models only")
    };
    let prior = match priors.entry(model) {
        Entry::Occupied(e) => e.into_mut(),
        Entry::Vacant(e) => {
            e.insert(Prior::builtin_model(model).map_err(crate::restore::RestoreError::from)?)
        }
    };
    let options = RestoreOptions {
        method: settings.method,
        knobs: settings.knobs,
    };
    Ok(Restorer::borrowing(ctx, prior).restore(&picture, &deg, &options)?)
}

/// `picture` as PNG bytes, as `wgvae restore -o out.png` writes it.
fn png(picture: &Picture) -> Result<Vec<u8>, ApiError> {
    picture
        .encode_as(Path::new("restored.png"))
        .map_err(|e| ApiError::internal(e.to_string()))
}
