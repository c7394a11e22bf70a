"""GPU work releases the GIL; training reports each epoch to a callback, stops on Ctrl-C after a
checkpoint, and trains what the command line trains."""

import os
import signal
import threading
import time

import numpy as np
import pytest

import wgvae


def test_a_python_thread_runs_while_a_restore_does(photo):
    model = wgvae.Model.load("photo-rgb")
    noisy = wgvae.degrade(photo, noise_sigma=0.1, seed=1)
    ticks, done = [0], threading.Event()

    def count():
        while not done.is_set():
            ticks[0] += 1
            time.sleep(0.001)

    counter = threading.Thread(target=count)
    counter.start()
    started = time.perf_counter()
    try:
        model.restore(noisy, noise_sigma=0.1)
    finally:
        seconds = time.perf_counter() - started
        done.set()
        counter.join()
    # with the GIL held for the whole restore the thread would tick once or twice
    assert ticks[0] > 20 * seconds, f"{ticks[0]} ticks in {seconds:.2f} s"


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory, digits):
    """40 digit images in a folder (both splits), drawn from the built-in model."""
    folder = tmp_path_factory.mktemp("digits")
    for i, img in enumerate(digits.sample(40, seed=9)):
        wgvae.write_image(folder / f"{i:02}.png", img[0])
    return folder


def test_two_epochs_with_a_callback_train_what_the_command_trains(tmp_path, cli, tiny_data):
    heard = []
    model = wgvae.train(
        data=tiny_data, epochs=2, batch=16, hidden=[64], latent=8, out=tmp_path / "py.safetensors",
        callback=lambda epoch, metrics: heard.append((epoch, metrics)),
    )
    assert [e for e, _ in heard] == [1, 2]
    assert heard[1][1]["step"] == 6 and heard[1][1]["epochs"] == 2
    assert all(np.isfinite(m["test_loss"]) for _, m in heard)
    assert heard[1][1]["train_loss"] < heard[0][1]["train_loss"]
    assert model.config["hidden"] == [64] and model.latent == 8
    cli("train", "--data", tiny_data, "--epochs", "2", "--batch", "16", "--hidden", "64",
        "--latent", "8", "--size", "28x28", "-o", tmp_path / "cli.safetensors")
    theirs = wgvae.Model.load(tmp_path / "cli.safetensors").state_dict()
    ours = model.state_dict()
    assert list(ours) == list(theirs)
    for name in ours:
        assert np.array_equal(ours[name], theirs[name]), name


def test_ctrl_c_stops_training_after_a_checkpoint(tmp_path, tiny_data):
    out = tmp_path / "stopped.safetensors"

    def interrupt(epoch, metrics):
        os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt, match="resume"):
        wgvae.train(data=tiny_data, epochs=5, batch=8, hidden=[32], latent=4, out=out,
                    callback=interrupt)
    assert out.exists(), "no checkpoint"
    # it continues from there
    heard = []
    wgvae.train(data=tiny_data, epochs=5, batch=8, hidden=[32], latent=4, out=out, resume=True,
                callback=lambda e, m: heard.append(e))
    assert heard and heard[-1] == 5 and heard[0] >= 2


def test_an_exception_in_the_callback_stops_the_run_and_is_raised(tmp_path, tiny_data):
    def fail(epoch, metrics):
        raise RuntimeError(f"stop at {epoch}")

    with pytest.raises(RuntimeError, match="stop at 1"):
        wgvae.train(data=tiny_data, epochs=4, batch=8, hidden=[32], latent=4,
                    out=tmp_path / "m.safetensors", callback=fail)
