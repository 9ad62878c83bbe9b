"""gradstep.distributions: the part of torch.distributions that training scripts use.

Probability distributions built from gradstep tensor ops, so ``log_prob`` is
differentiable with respect to the parameters and ``rsample`` with respect to
loc/scale (policy gradients, VAEs, mixture models). Draws come from the global
generator, so ``gs.manual_seed`` fixes them.

>>> import gradstep as gs
>>> d = gs.distributions.Categorical(logits=gs.zeros(3))
>>> d.log_prob(gs.tensor(1))
tensor(-1.0986)
"""
from . import constraints
from .bernoulli import Bernoulli
from .beta import Beta
from .categorical import Categorical, OneHotCategorical
from .dirichlet import Dirichlet
from .distribution import Distribution
from .gamma import Gamma
from .independent import Independent
from .kl import kl_divergence, register_kl
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .uniform import Uniform

__all__ = ["Distribution", "Bernoulli", "Categorical", "OneHotCategorical", "Normal", "Uniform",
           "MultivariateNormal", "Independent", "Beta", "Gamma", "Dirichlet", "kl_divergence", "register_kl", "constraints"]
