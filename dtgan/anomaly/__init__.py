"""f-AnoGAN, the unsupervised anomaly-detection baseline (spec fanogan.md): WGAN-GP on normal images, an izi_f
encoder trained with G and D frozen, and the score A = A_R + kappa * A_D with a pixel map |x - G(E(x))|."""

from dtgan.anomaly.config import AnomalyConfig
from dtgan.anomaly.metrics import auroc, auroc_or_none, image_metrics, pixel_auroc, pixel_metrics
from dtgan.anomaly.models import Critic, Encoder, Generator, Networks
from dtgan.anomaly.score import Scores, score_images
from dtgan.anomaly.train import build_networks, gradient_penalty, train_model

__all__ = ["AnomalyConfig", "Critic", "Encoder", "Generator", "Networks", "Scores", "auroc", "auroc_or_none",
           "build_networks", "gradient_penalty", "image_metrics", "pixel_auroc", "pixel_metrics", "score_images",
           "train_model"]
