"""The ``evaluate`` params section: metric settings shared by real_features, train_eval_classifier and evaluate.

Holds every field of :class:`dtgan.metrics.MetricSettings` (``fid_weights`` as a string, "" = hub cache); the rest
are evaluation-protocol choices the paper does not fix (each says so below). Paper-profile values:
``effnet_input_size`` 224 (the network's native size), ``eval_classifier_epochs`` 100 and
``eval_classifier_class_size`` 0 (the paper's classifier schedule on all real images), the rest as the defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

from dtgan.metrics.kid import KID_SUBSET_SIZE, KID_SUBSETS
from dtgan.params import field_spec


@dataclass(frozen=True)
class EvaluateConfig:
    # Path of pt_inception-2015-12-05-6726825d.pth (sha256-verified); "" = look in the torch hub cache. Without
    # verified weights FID/KID on Inception are reported as "not computed: <reason>"; nothing is ever downloaded.
    fid_weights: str = ""
    feature_batch_size: int = field_spec(50, low=1)
    # Side the images are resized to before EfficientNet-Lite0 (native 224). Project choice for the CPU budget:
    # 128 is ~3x faster than 224 here; the size is recorded in metrics.json because it changes the numbers.
    # The FID Inception always runs at its defining 299 px.
    effnet_input_size: int = field_spec(128, low=32, high=1024)
    # KID defaults of Bińkowski et al. / torch-fidelity (the subset size shrinks to the smaller set).
    kid_subsets: int = field_spec(KID_SUBSETS, low=1)
    kid_subset_size: int = field_spec(KID_SUBSET_SIZE, low=2)
    # Background preservation: the generated-defect region is ESTIMATED as the pixels whose change |out - src|
    # (mean over RGB, [0, 1] scale) exceeds this threshold, then dilated by background_dilation_px. Not in the
    # paper (project choice): 0.1 is ~25 grey levels, above typical reconstruction noise of the background.
    change_threshold: float = field_spec(0.1, low=0, high=1, low_open=True, high_open=True)
    background_dilation_px: int = field_spec(3, low=0)
    nn_grid_rows: int = field_spec(8, low=1)
    # Evaluation classifier (real images only, one seed): the classifier section's backbone/optimiser settings with
    # this many epochs and every class resampled to eval_classifier_class_size training images (0 = the largest
    # class's count: minorities oversampled, nothing dropped). Project choices for the CPU budget; paper-scale
    # classifiers train 100 epochs on everything (paper profile: 100 and 0).
    eval_classifier_epochs: int = field_spec(2, low=1)
    eval_classifier_class_size: int = field_spec(300, low=0)
    seed: int = 0  # eval classifier seed, mix-set draws and KID subsets
    device: str = field_spec("auto", result=False)

