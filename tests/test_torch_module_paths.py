"""Module paths PyTorch scripts reach through ``torch.``: ``cuda`` (the device queries) and ``utils.data``."""
import gradstep as gs


def test_cuda_queries_answer_as_torch_without_a_gpu(torch):
    assert gs.cuda.is_available() is False
    assert gs.cuda.device_count() == 0
    assert gs.cuda.manual_seed(1) is None and gs.cuda.manual_seed_all(1) is None
    if not torch.cuda.is_available():
        assert gs.cuda.device_count() == torch.cuda.device_count()
    device = gs.device("cuda" if gs.cuda.is_available() else "cpu")
    assert device == gs.device("cpu")


def test_utils_data_is_gradstep_data():
    import gradstep.utils.data as data
    from gradstep.utils.data import DataLoader, TensorDataset

    assert gs.utils.data is data
    assert DataLoader is gs.data.DataLoader and TensorDataset is gs.data.TensorDataset
    assert data.Subset is gs.data.Subset and data.random_split is gs.data.random_split
    assert set(data.__all__) == set(gs.data.__all__)
    loader = gs.utils.data.DataLoader(gs.utils.data.TensorDataset(gs.arange(6.0)), batch_size=4)
    assert [b[0].tolist() for b in loader] == [[0.0, 1.0, 2.0, 3.0], [4.0, 5.0]]


def test_accelerator_and_backends_answer_as_torch_without_one(torch):
    import gradstep.backends.cudnn as cudnn

    assert gs.accelerator.is_available() is torch.accelerator.is_available() is False
    assert gs.accelerator.current_accelerator() is torch.accelerator.current_accelerator() is None
    assert gs.accelerator.current_accelerator(check_available=True) is None
    assert gs.accelerator.device_count() == torch.accelerator.device_count() == 0
    assert gs.backends.mps.is_available() is torch.backends.mps.is_available() is False
    assert gs.backends.mps.is_built() is False
    assert cudnn is gs.backends.cudnn
    assert (cudnn.enabled, cudnn.benchmark, cudnn.deterministic) == (True, False, False)
    assert cudnn.is_available() is False
    cudnn.benchmark = True  # dcgan/main.py; accepted
    cudnn.benchmark = False
