"""kl_divergence(p, q) dispatched on the pair of types through a ``register_kl`` table, as in PyTorch."""
import numpy as np

from .bernoulli import Bernoulli
from .beta import Beta
from .categorical import Categorical, OneHotCategorical
from .dirichlet import Dirichlet
from .gamma import Gamma
from .independent import Independent
from .multivariate_normal import MultivariateNormal, _batch_mahalanobis
from .normal import Normal
from ..errors import InvalidArgument, NotSupported
from .distribution import sum_rightmost

__all__ = ["kl_divergence", "register_kl"]

_KL_REGISTRY = {}


def register_kl(type_p, type_q):
    """Decorator registering ``fn(p, q)`` as KL(p || q) for ``p: type_p``, ``q: type_q`` (and subclasses)."""
    def decorator(fn):
        _KL_REGISTRY[type_p, type_q] = fn
        return fn
    return decorator


def _dispatch(type_p, type_q):
    """The registered pair that is most specific for (type_p, type_q) by method resolution order."""
    best, best_rank = None, None
    for (p, q), fn in _KL_REGISTRY.items():
        if issubclass(type_p, p) and issubclass(type_q, q):
            rank = (type_p.__mro__.index(p), type_q.__mro__.index(q))
            if best_rank is None or rank < best_rank:
                best, best_rank = fn, rank
    return best


def kl_divergence(p, q):
    """KL(p || q) per batch element.

    Raises NotSupported (a NotImplementedError, as in PyTorch) when no formula is registered for the pair."""
    fn = _dispatch(type(p), type(q))
    if fn is None:
        raise NotSupported(f"kl_divergence: no KL(p || q) is implemented for p type {type(p).__name__} "
                                  f"and q type {type(q).__name__}")
    return fn(p, q)


def _where_inf_zero(t, inf_mask, zero_mask):
    import gradstep as gs

    t = gs.where(inf_mask, gs.full_like(t, float("inf")), t)
    return gs.where(zero_mask, gs.zeros_like(t), t)


@register_kl(Normal, Normal)
def _kl_normal_normal(p, q):
    var_ratio = (p.scale / q.scale).pow(2)
    t1 = ((p.loc - q.loc) / q.scale).pow(2)
    return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p, q):
    t = p.probs * (p.logits - q.logits)
    shape = tuple(t.shape)
    t = _where_inf_zero(t, (q.probs == 0).expand(*shape), (p.probs == 0).expand(*shape))
    return t.sum(-1)


@register_kl(OneHotCategorical, OneHotCategorical)
def _kl_onehotcategorical_onehotcategorical(p, q):
    return _kl_categorical_categorical(p._categorical, q._categorical)


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p, q):
    import gradstep as gs

    softplus = gs.nn.functional.softplus
    t1 = p.probs * (softplus(-q.logits) - softplus(-p.logits))
    t1 = _where_inf_zero(t1, q.probs == 0, p.probs == 0)
    t2 = (1 - p.probs) * (softplus(q.logits) - softplus(p.logits))
    t2 = _where_inf_zero(t2, q.probs == 1, p.probs == 1)
    return t1 + t2


@register_kl(Independent, Independent)
def _kl_independent_independent(p, q):
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotSupported("kl_divergence: KL between Independents with different reinterpreted_batch_ndims")
    return sum_rightmost(kl_divergence(p.base_dist, q.base_dist), p.reinterpreted_batch_ndims)


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_mvn_mvn(p, q):
    import gradstep as gs

    if p.event_shape != q.event_shape:
        raise InvalidArgument("kl_divergence: KL-divergence between two Multivariate Normals with different "
                              f"event shapes cannot be computed: {p.event_shape} vs {q.event_shape}")
    n = p.event_shape[0]
    Lq, Lp = gs.tril(q._unbroadcasted_scale_tril), p._unbroadcasted_scale_tril
    half_term1 = (Lq.diagonal(dim1=-2, dim2=-1).log().sum(-1) - Lp.diagonal(dim1=-2, dim2=-1).log().sum(-1))
    shape = np.broadcast_shapes(tuple(Lq.shape), tuple(Lp.shape))
    term2 = gs.linalg.solve(Lq.expand(*shape), Lp.expand(*shape)).pow(2).sum((-2, -1))
    term3 = _batch_mahalanobis(q._unbroadcasted_scale_tril, q.loc - p.loc)
    return half_term1 + 0.5 * (term2 + term3 - n)


@register_kl(Beta, Beta)
def _kl_beta_beta(p, q):
    import gradstep as gs

    sum_p = p.concentration1 + p.concentration0
    sum_q = q.concentration1 + q.concentration0
    t1 = gs.lgamma(q.concentration1) + gs.lgamma(q.concentration0) + gs.lgamma(sum_p)
    t2 = gs.lgamma(p.concentration1) + gs.lgamma(p.concentration0) + gs.lgamma(sum_q)
    t3 = (p.concentration1 - q.concentration1) * gs.digamma(p.concentration1)
    t4 = (p.concentration0 - q.concentration0) * gs.digamma(p.concentration0)
    t5 = (sum_q - sum_p) * gs.digamma(sum_p)
    return t1 - t2 + t3 + t4 + t5


@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p, q):
    import gradstep as gs

    t1 = q.concentration * (p.rate / q.rate).log()
    t2 = gs.lgamma(q.concentration) - gs.lgamma(p.concentration)
    t3 = (p.concentration - q.concentration) * gs.digamma(p.concentration)
    t4 = (q.rate - p.rate) * (p.concentration / p.rate)
    return t1 + t2 + t3 + t4


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet_dirichlet(p, q):
    import gradstep as gs

    sum_p = p.concentration.sum(-1)
    sum_q = q.concentration.sum(-1)
    t1 = gs.lgamma(sum_p) - gs.lgamma(sum_q)
    t2 = (gs.lgamma(p.concentration) - gs.lgamma(q.concentration)).sum(-1)
    t3 = p.concentration - q.concentration
    t4 = gs.digamma(p.concentration) - gs.digamma(sum_p).unsqueeze(-1)
    return t1 - t2 + (t3 * t4).sum(-1)
