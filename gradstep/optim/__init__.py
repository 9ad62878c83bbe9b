"""Optimizers and learning-rate schedulers with ``torch.optim``'s API and update rules.

>>> import gradstep as gs
>>> w = gs.tensor([1.0, 2.0], requires_grad=True)
>>> opt = gs.optim.SGD([w], lr=0.5)
>>> (w * w).sum().backward()
>>> opt.step()
>>> w
tensor([0., 0.], requires_grad=True)
"""
from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .asgd import ASGD
from .lbfgs import LBFGS
from .nadam import NAdam
from .optimizer import Optimizer, flatten_state_dict, required, set_num_threads, unflatten_state_dict
from .radam import RAdam
from .rmsprop import RMSprop
from .rprop import Rprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "NAdam", "RAdam", "Adamax",
           "Adadelta", "LBFGS", "Rprop", "ASGD", "lr_scheduler",
           "flatten_state_dict", "unflatten_state_dict", "required", "set_num_threads"]
