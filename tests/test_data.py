from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from nasbench.data import (DatasetNotFound, dataset_names, dataset_status, fetch_dataset, load_dataset,
                           stratified_kfold, train_val_test_split)


def test_digits_are_real_handwritten_digits():
    d = load_dataset("digits")
    assert d.x.shape == (1797, 1, 8, 8) and d.n_classes == 10 and d.task == "classification"
    assert float(d.x.min()) == 0.0 and float(d.x.max()) == 1.0
    assert torch.bincount(d.y).tolist()[:3] == [178, 182, 177]
    up = load_dataset("digits", image_size=16)
    assert up.x.shape == (1797, 1, 16, 16)


def test_mnist1d_is_procedural_reproducible_and_leaves_global_rng_alone():
    state = np.random.get_state()[1].copy()
    a = load_dataset("mnist1d", seed=1, n_samples=400)
    assert np.array_equal(np.random.get_state()[1], state)
    b = load_dataset("mnist1d", seed=1, n_samples=400)
    c = load_dataset("mnist1d", seed=2, n_samples=400)
    assert torch.equal(a.x, b.x) and not torch.equal(a.x, c.x)
    assert a.x.shape == (320, 1, 40) and a.test.x.shape == (80, 1, 40) and a.n_classes == 10


def test_sinewave_target_is_a_linear_combination_of_five_sines():
    d = load_dataset("sinewave", seed=3, n_samples=500)
    assert d.task == "regression" and d.x.shape == (500, 1, 5) and d.y.shape == (500, 1)
    X = d.x[:, 0, :].double().numpy()
    coef, residual, *_ = np.linalg.lstsq(X, d.y.double().numpy(), rcond=None)
    assert residual.item() < 1e-8 and np.abs(X).max() <= 1.0
    assert not torch.equal(d.y, load_dataset("sinewave", seed=4, n_samples=500).y)


def test_sinewave_noisy_target_is_cubic_in_each_sine_plus_noise():
    from nasbench.data import NOISY_SINE_NOISE

    d = load_dataset("sinewave_noisy", seed=3, n_samples=4000)
    assert d.name == "sinewave_noisy" and d.task == "regression" and d.x.shape == (4000, 1, 5) and d.y.shape == (4000, 1)
    X, y = d.x[:, 0, :].double().numpy(), d.y[:, 0].double().numpy()
    harmonics = 3 * X - 4 * X ** 3  # sin(3 theta) from x = sin(theta)

    def residual_variance(features):
        coef, *_ = np.linalg.lstsq(features, y, rcond=None)
        return float(np.mean((y - features @ coef) ** 2))

    assert abs(residual_variance(harmonics) - NOISY_SINE_NOISE ** 2) < 0.001  # only the noise is left: MSE floor 0.01
    assert residual_variance(X) > 0.3  # a linear fit, which solves plain sinewave, does not
    again = load_dataset("sinewave_noisy", seed=3, n_samples=4000)
    assert torch.equal(d.y, again.y) and len(load_dataset("sinewave_noisy")) == 1000


def test_mnist1d_onehot_is_mnist1d_with_one_hot_regression_targets():
    plain, hot = load_dataset("mnist1d", seed=1, n_samples=400), load_dataset("mnist1d_onehot", seed=1, n_samples=400)
    assert hot.task == "regression" and hot.name == "mnist1d_onehot" and hot.n_classes == 0
    assert torch.equal(hot.x, plain.x) and hot.y.shape == (320, 10) and hot.y.dtype == torch.float32
    assert torch.equal(hot.y.argmax(1), plain.y) and torch.equal(hot.y.sum(1), torch.ones(320))
    assert torch.equal(hot.test.y.argmax(1), plain.test.y) and hot.test.task == "regression"


def test_image_folder(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for cls in ("daisy", "tulip"):
        (tmp_path / "flowers" / cls).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 255, (20, 30, 3), dtype=np.uint8)).save(tmp_path / "flowers" / cls / f"{i}.png")
    d = load_dataset("flowers", root=tmp_path, image_size=16)
    assert d.x.shape == (6, 3, 16, 16) and d.n_classes == 2 and d.y.tolist() == [0, 0, 0, 1, 1, 1]
    assert "flowers" in dataset_names(tmp_path)


def test_missing_data_says_where_to_get_it(tmp_path):
    with pytest.raises(DatasetNotFound, match=r"cifar10 is not under .*; fetch it once with: nasbench data fetch cifar10"):
        load_dataset("cifar10", root=tmp_path)
    with pytest.raises(DatasetNotFound, match=r"unknown dataset 'imagenet': use one of \['digits', 'mnist1d'"):
        load_dataset("imagenet", root=tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetNotFound, match="is not an image folder"):
        load_dataset("empty", root=tmp_path)
    with pytest.raises(ValueError, match="only torchvision sets can be fetched"):
        fetch_dataset("digits", tmp_path)


def test_splits_are_stratified_disjoint_and_seeded():
    d = load_dataset("digits")
    tr, va, te = train_val_test_split(d, val=0.2, test=0.1, seed=0)
    assert len(set(tr) | set(va) | set(te)) == len(d) == len(tr) + len(va) + len(te)
    assert abs(len(va) / len(d) - 0.2) < 0.01 and abs(len(te) / len(d) - 0.1) < 0.01
    counts = torch.bincount(d.y[va], minlength=10).numpy()
    assert counts.min() >= 34 and counts.max() <= 38  # ~ 20% of ~180 per class
    again = train_val_test_split(d, val=0.2, test=0.1, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip((tr, va, te), again))
    with pytest.raises(ValueError, match="fractions"):
        train_val_test_split(d, val=0.9, test=0.2)


def test_stratified_kfold_partitions():
    d = load_dataset("digits")
    folds = stratified_kfold(d, 3, seed=0)
    assert len(folds) == 3
    val = np.concatenate([va for _, va in folds])
    assert sorted(val.tolist()) == list(range(len(d)))
    for tr, va in folds:
        assert not set(tr) & set(va)
        assert torch.bincount(d.y[va], minlength=10).min() >= 58
    with pytest.raises(ValueError, match="k >= 2"):
        stratified_kfold(d, 1)


def test_dataset_status_says_what_is_here(tmp_path):
    (tmp_path / "flowers").mkdir()
    (tmp_path / "cifar-10-batches-py").mkdir()  # torchvision's folder is not an image folder
    assert dataset_status(tmp_path) == {
        "digits": "embedded", "mnist1d": "embedded", "sinewave": "embedded", "sinewave_noisy": "embedded",
        "mnist1d_onehot": "embedded",
        "fashionmnist": f"missing: nasbench data fetch fashionmnist --root {tmp_path}",
        "cifar10": f"present at {tmp_path / 'cifar-10-batches-py'}",
        "flowers102": f"missing: nasbench data fetch flowers102 --root {tmp_path}",
        "flowers": f"present at {tmp_path / 'flowers'} (image folder)"}


def test_fetch_offline_says_how_to_bring_the_files(tmp_path, monkeypatch):
    import urllib.error

    import torchvision.datasets

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torchvision.datasets, "FashionMNIST", offline)
    with pytest.raises(DatasetNotFound) as info:
        fetch_dataset("fashionmnist", tmp_path)
    assert str(info.value) == (
        "could not download fashionmnist (<urlopen error [Errno -3] Temporary failure in name resolution>); "
        "download it where there is internet (nasbench data fetch fashionmnist --root data) and copy its folder "
        f"FashionMNIST/ into {tmp_path}/ (it holds raw/train-images-idx3-ubyte, raw/t10k-images-idx3-ubyte, ...)")


def test_the_default_root_is_found_from_a_notebooks_folder(tmp_path, monkeypatch):
    import nasbench.data as data

    monkeypatch.delenv("NASBENCH_DATA", raising=False)
    checkout = tmp_path / "repo"
    (checkout / "data" / "flowers" / "daisy").mkdir(parents=True)
    (checkout / "pyproject.toml").write_text("")
    (checkout / "notebooks").mkdir()
    monkeypatch.setattr(data, "_CHECKOUT", checkout)
    monkeypatch.chdir(checkout / "notebooks")  # where papermill and JupyterLab run a notebook
    assert data.default_root() == checkout / "data" and "flowers" in dataset_names()
    assert data.resolve_root("data") == checkout / "data" and data.resolve_root(tmp_path) == tmp_path
    (checkout / "notebooks" / "data").mkdir()  # a data/ beside the caller comes first
    assert data.default_root() == Path("data") and "flowers" not in dataset_names()
    monkeypatch.setenv("NASBENCH_DATA", str(tmp_path / "elsewhere"))  # then the environment first of all
    assert data.default_root() == tmp_path / "elsewhere"
    with pytest.raises(DatasetNotFound, match=str(tmp_path / "elsewhere" / "imagenet")):
        load_dataset("imagenet")
    monkeypatch.delenv("NASBENCH_DATA")
    (checkout / "pyproject.toml").unlink()  # an installed nasbench: no checkout to fall back on
    (checkout / "notebooks" / "data").rmdir()
    assert data.default_root() == Path("data")
