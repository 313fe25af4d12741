"""Datasets as tensors, and seeded splits.

Embedded defaults need no download: ``digits`` (scikit-learn's real handwritten
digits), ``mnist1d`` (generated procedurally) and ``sinewave`` (seed 003's toy
regression), with two harder variants for seed 003's study: ``sinewave_noisy`` (a
nonlinear target with noise, so the validation MSE does not fall to ~0) and
``mnist1d_onehot`` (mnist1d as a regression on one-hot targets, scored by MSE as
seed 003 scored its MNIST MLP). Images a user brings live under ``data/NAME/`` in ImageFolder
layout; torchvision's FashionMNIST, CIFAR-10 and Flowers102 are read from a
local root. Nothing is downloaded unless asked for explicitly
(:func:`fetch_dataset`, ``nasbench data fetch NAME``).
"""

from __future__ import annotations

import os
import random
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

__all__ = ["Dataset", "DatasetNotFound", "load_dataset", "fetch_dataset", "dataset_names", "dataset_status",
           "train_val_test_split", "stratified_kfold", "DEFAULT_ROOT", "default_root", "resolve_root"]

#: The root every function here defaults to; as given, it is resolved by :func:`default_root`.
DEFAULT_ROOT = Path("data")
_CHECKOUT = Path(__file__).resolve().parents[1]
EMBEDDED = ("digits", "mnist1d", "sinewave", "sinewave_noisy", "mnist1d_onehot")
_TORCHVISION = {"fashionmnist": "FashionMNIST", "cifar10": "CIFAR10", "flowers102": "Flowers102"}
#: Where torchvision keeps each set under the root, and what that folder holds.
_LAYOUT = {"fashionmnist": ("FashionMNIST", "raw/train-images-idx3-ubyte, raw/t10k-images-idx3-ubyte, ..."),
           "cifar10": ("cifar-10-batches-py", "data_batch_1 ... data_batch_5, test_batch, batches.meta"),
           "flowers102": ("flowers-102", "jpg/, imagelabels.mat, setid.mat")}


class DatasetNotFound(FileNotFoundError):
    """A dataset that is not on disk; the message says where to put it or how to fetch it."""


@dataclass(frozen=True)
class Dataset:
    """Inputs ``x`` (N, C, H, W) or (N, C, L), targets ``y``; a name and a task.

    ``test`` holds a separate test set when the source defines one.
    """

    name: str
    task: str  # "classification" or "regression"
    x: torch.Tensor
    y: torch.Tensor
    n_classes: int = 0
    test: "Dataset | None" = None

    def __post_init__(self) -> None:
        if self.task not in ("classification", "regression"):
            raise ValueError(f"task must be 'classification' or 'regression', got {self.task!r}")
        if len(self.x) != len(self.y):
            raise ValueError(f"x has {len(self.x)} samples but y has {len(self.y)}")

    def __len__(self) -> int:
        return len(self.x)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])

    def subset(self, index: np.ndarray | torch.Tensor) -> "Dataset":
        index = torch.as_tensor(np.asarray(index), dtype=torch.long)
        return Dataset(self.name, self.task, self.x[index], self.y[index], self.n_classes)


def default_root() -> Path:
    """Where data sets live when no other root is given (``root="data"``, the default):
    ``$NASBENCH_DATA`` if set; else ``./data`` if it exists; else, in a source checkout, the
    repository's ``data/`` (so a notebook, which runs in ``notebooks/``, finds what
    ``data/README.md`` says to put there); else ``./data``."""
    if os.environ.get("NASBENCH_DATA"):
        return Path(os.environ["NASBENCH_DATA"])
    if DEFAULT_ROOT.is_dir():
        return DEFAULT_ROOT
    checkout = _CHECKOUT / "data"
    if (_CHECKOUT / "pyproject.toml").is_file() and checkout.is_dir():
        return checkout
    return DEFAULT_ROOT


def resolve_root(root: str | Path) -> Path:
    """``root`` as given, or :func:`default_root` for the default ``"data"``."""
    return default_root() if Path(root) == DEFAULT_ROOT else Path(root)


def dataset_names(root: str | Path = DEFAULT_ROOT) -> list[str]:
    """Embedded datasets, torchvision sets, and the image folders under ``root``."""
    root = resolve_root(root)
    folders = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    layout = {folder for folder, _ in _LAYOUT.values()}
    return [*EMBEDDED, *_TORCHVISION, *[f for f in folders if f not in _TORCHVISION and f not in layout]]


def dataset_status(root: str | Path = DEFAULT_ROOT) -> dict[str, str]:
    """Each dataset nasbench can load and where it stands: ``embedded``, ``present at
    PATH`` or ``missing: nasbench data fetch NAME --root ROOT``."""
    root = resolve_root(root)
    status = {}
    for name in dataset_names(root):
        if name in EMBEDDED:
            status[name] = "embedded"
        elif name in _TORCHVISION:
            folder = root / _LAYOUT[name][0]
            status[name] = f"present at {folder}" if folder.is_dir() else f"missing: nasbench data fetch {name} --root {root}"
        else:
            status[name] = f"present at {root / name} (image folder)"
    return status


def load_dataset(name: str, *, root: str | Path = DEFAULT_ROOT, seed: int = 0, image_size: int | None = None,
                 n_samples: int | None = None) -> Dataset:
    """Load a dataset by name.

    ``image_size`` resizes images (digits are 8x8; upsample them with 16 or 32).
    ``n_samples`` sizes the generated sets (``mnist1d``, ``sinewave`` and their variants).
    """
    if name == "digits":
        return _digits(image_size)
    if name == "mnist1d":
        return _mnist1d(seed, n_samples or 4000)
    if name == "mnist1d_onehot":
        return _one_hot(_mnist1d(seed, n_samples or 4000), name)
    if name == "sinewave":
        return _sinewave(seed, n_samples or 2000)
    if name == "sinewave_noisy":
        return _sinewave_noisy(seed, n_samples or 1000)
    root = resolve_root(root)
    if name in _TORCHVISION:
        return _torchvision(name, root, image_size)
    folder = root / name
    if folder.is_dir():
        return _image_folder(folder, image_size or 32)
    raise DatasetNotFound(f"unknown dataset {name!r}: use one of {dataset_names(root)}, or put images in "
                          f"{folder}/<class>/<image> (ImageFolder layout)")


def _digits(image_size: int | None) -> Dataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    if image_size and image_size != 8:
        x = torch.nn.functional.interpolate(x, size=(image_size, image_size), mode="bilinear", align_corners=False)
    return Dataset("digits", "classification", x, torch.tensor(bunch.target, dtype=torch.long), 10)


@contextmanager
def _global_seed_guard() -> Iterator[None]:
    """mnist1d seeds the global ``random`` and ``np.random``: put them back afterwards."""
    py, np_state = random.getstate(), np.random.get_state()
    try:
        yield
    finally:
        random.setstate(py)
        np.random.set_state(np_state)


def _mnist1d(seed: int, n_samples: int) -> Dataset:
    from mnist1d.data import get_dataset_args, make_dataset  # procedural: never its network path

    args = get_dataset_args()
    args.num_samples, args.seed = int(n_samples), int(seed)
    with _global_seed_guard():
        data = make_dataset(args)

    def tensors(x, y):
        return torch.tensor(x, dtype=torch.float32).unsqueeze(1), torch.tensor(y, dtype=torch.long)

    test = Dataset("mnist1d", "classification", *tensors(data["x_test"], data["y_test"]), 10)
    return Dataset("mnist1d", "classification", *tensors(data["x"], data["y"]), 10, test)


def _sinewave(seed: int, n_samples: int) -> Dataset:
    """Seed 003: five sine waves as covariates, a random linear combination as target."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, 2 * np.pi, size=n_samples)
    freq, phase = rng.uniform(0.5, 3.0, size=5), rng.uniform(0, 2 * np.pi, size=5)
    covariates = np.sin(np.outer(t, freq) + phase)
    weights = rng.normal(size=5)
    target = covariates @ weights / np.sqrt(5)
    x = torch.tensor(covariates, dtype=torch.float32).unsqueeze(1)  # (N, 1, 5)
    return Dataset("sinewave", "regression", x, torch.tensor(target, dtype=torch.float32).unsqueeze(1))


#: ``sinewave_noisy``: the harmonic of each covariate that enters the target, and the
#: noise's standard deviation (the floor of the validation MSE is its square, 0.01).
NOISY_SINE_HARMONIC, NOISY_SINE_NOISE = 3, 0.1


def _sinewave_noisy(seed: int, n_samples: int) -> Dataset:
    """Seed 003's sinewave task made hard enough to rank methods: the same five sine
    covariates x_i = sin(theta_i), but the target is a random linear combination of their
    third harmonics sin(3 theta_i) = 3 x_i - 4 x_i^3 (a cubic, not linear, in each
    covariate) plus Gaussian noise of standard deviation 0.1 (an MSE floor of 0.01)."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, 2 * np.pi, size=n_samples)
    freq, phase = rng.uniform(0.5, 3.0, size=5), rng.uniform(0, 2 * np.pi, size=5)
    theta = np.outer(t, freq) + phase
    weights = rng.normal(size=5)
    target = np.sin(NOISY_SINE_HARMONIC * theta) @ weights / np.sqrt(5)
    target = target + rng.normal(scale=NOISY_SINE_NOISE, size=n_samples)
    x = torch.tensor(np.sin(theta), dtype=torch.float32).unsqueeze(1)  # (N, 1, 5)
    return Dataset("sinewave_noisy", "regression", x, torch.tensor(target, dtype=torch.float32).unsqueeze(1))


def _one_hot(data: Dataset, name: str) -> Dataset:
    """A classification set as a regression on one-hot float targets (N, n_classes):
    trained with the MSE loss and scored by validation MSE (seed 003's metric)."""
    def onehot(d: Dataset) -> torch.Tensor:
        return torch.nn.functional.one_hot(d.y, d.n_classes).float()

    test = None if data.test is None else Dataset(name, "regression", data.test.x, onehot(data.test))
    return Dataset(name, "regression", data.x, onehot(data), test=test)


def _image_transform(image_size: int | None):
    from torchvision import transforms

    steps = [transforms.Resize((image_size, image_size))] if image_size else []
    return transforms.Compose([*steps, transforms.ToTensor()])


def _stack(ds) -> tuple[torch.Tensor, torch.Tensor]:
    xs, ys = zip(*(ds[i] for i in range(len(ds))))
    return torch.stack(xs), torch.tensor(ys, dtype=torch.long)


def _image_folder(folder: Path, image_size: int) -> Dataset:
    from torchvision.datasets import ImageFolder

    try:
        ds = ImageFolder(str(folder), transform=_image_transform(image_size))
    except (FileNotFoundError, RuntimeError) as exc:
        raise DatasetNotFound(f"{folder} is not an image folder ({exc}); lay it out as {folder}/<class>/<image>") from None
    x, y = _stack(ds)
    return Dataset(folder.name, "classification", x, y, len(ds.classes))


def _torchvision(name: str, root: Path, image_size: int | None) -> Dataset:
    import torchvision.datasets as tvd

    cls = getattr(tvd, _TORCHVISION[name])
    kwargs = {"split": "train"} if name == "flowers102" else {"train": True}
    test_kwargs = {"split": "test"} if name == "flowers102" else {"train": False}
    size = image_size or (32 if name == "flowers102" else None)
    try:
        train = cls(str(root), download=False, transform=_image_transform(size), **kwargs)
        test = cls(str(root), download=False, transform=_image_transform(size), **test_kwargs)
    except RuntimeError:
        raise DatasetNotFound(f"{name} is not under {root}/; fetch it once with: nasbench data fetch {name} "
                              f"--root {root} (or copy its folder {_LAYOUT[name][0]}/ there: {_LAYOUT[name][1]})") from None
    n_classes = 102 if name == "flowers102" else 10
    test_ds = Dataset(name, "classification", *_stack(test), n_classes)
    return Dataset(name, "classification", *_stack(train), n_classes, test_ds)


def fetch_dataset(name: str, root: str | Path = DEFAULT_ROOT) -> Path:
    """Download a torchvision dataset into ``root`` (the one explicit download)."""
    root = resolve_root(root)
    if name not in _TORCHVISION:
        raise ValueError(f"only torchvision sets can be fetched ({sorted(_TORCHVISION)}); {name!r} is "
                         "embedded or brought as an image folder")
    import torchvision.datasets as tvd

    cls = getattr(tvd, _TORCHVISION[name])
    for kwargs in ({"split": "train"}, {"split": "test"}) if name == "flowers102" else ({"train": True}, {"train": False}):
        try:
            cls(str(root), download=True, **kwargs)
        except (OSError, RuntimeError) as exc:  # offline, refused, or a corrupt download
            folder, files = _LAYOUT[name]
            raise DatasetNotFound(f"could not download {name} ({' '.join(str(exc).split())}); download it where there "
                                  f"is internet (nasbench data fetch {name} --root data) and copy its folder "
                                  f"{folder}/ into {root}/ (it holds {files})") from None
    return Path(root)


def train_val_test_split(dataset: Dataset, *, val: float = 0.2, test: float = 0.0, seed: int = 0,
                         stratify: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index arrays (train, validation, test), stratified by class for classification."""
    from sklearn.model_selection import train_test_split

    if not (0 < val < 1 and 0 <= test < 1 and val + test < 1):
        raise ValueError(f"val and test fractions must be in (0, 1) and sum below 1, got val={val}, test={test}")
    index = np.arange(len(dataset))
    labels = dataset.y.numpy() if stratify and dataset.task == "classification" else None
    test_idx = np.array([], dtype=int)
    if test > 0:
        index, test_idx = train_test_split(index, test_size=test, random_state=seed, stratify=labels)
        labels = labels[index] if labels is not None else None
    train_idx, val_idx = train_test_split(index, test_size=val / (1 - test), random_state=seed + 1, stratify=labels)
    return np.sort(train_idx), np.sort(val_idx), np.sort(test_idx)


def stratified_kfold(dataset: Dataset, k: int, *, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` (train, validation) index pairs; stratified for classification (seed 000: k=3)."""
    from sklearn.model_selection import KFold, StratifiedKFold

    if int(k) != k or k < 2:
        raise ValueError(f"k-fold needs k >= 2, got {k}")
    splitter = (StratifiedKFold if dataset.task == "classification" else KFold)(n_splits=k, shuffle=True,
                                                                                  random_state=seed)
    return [(tr, va) for tr, va in splitter.split(np.zeros(len(dataset)), dataset.y.numpy())]
