"""pytorch/examples' vision scripts (mnist, vae, dcgan), written once and run with torch and with gradstep.

Each ``*_main(torch, ...)`` below is the example's code with the library passed
in where the script has ``import torch`` (``nn = torch.nn``,
``F = torch.nn.functional``, ``cudnn = torch.backends.cudnn``, ... stand for its
other imports), device selection included (``torch.cuda``/``torch.backends.mps``
in mnist and vae, ``torch.accelerator`` in dcgan). What changes: small in-memory
arrays in a ``TensorDataset`` stand in for torchvision's datasets, torchvision's
``save_image`` calls keep the tensors instead, argparse options are arguments,
and the sizes are small (dcgan makes 32x32 images with ngf = ndf = 8, one
transposed convolution fewer than the 64x64 original) so the tests are fast.

Each script runs twice per library:

* unchanged (dropout, shuffling and noise as in the example): it runs, the
  losses are finite (and fall, for mnist and vae) and the checkpoint it saves
  loads back;
* made deterministic from outside, not by editing the script: dropout's ``p``
  set to 0 on the built model, shuffling off, ``randn``/``randn_like`` drawing
  from one NumPy stream shared by both libraries (:class:`SharedNoise`), and
  gradstep's model loaded with torch's initial state_dict. Then losses, test
  numbers and final weights must match torch's within float32 tolerances.
"""
import numpy as np
import pytest

import gradstep as gs


# ---------------------------------------------------------------- harness
class SharedNoise:
    """The library with ``randn``/``randn_like`` taken from one NumPy stream, so both libraries draw the same noise."""

    def __init__(self, lib, seed):
        self._lib, self._rng = lib, np.random.default_rng(seed)

    def __getattr__(self, name):
        return getattr(self._lib, name)

    def randn(self, *size, **kwargs):
        shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
        return self._lib.tensor(self._rng.standard_normal(shape).astype(np.float32))

    def randn_like(self, t):
        return self.randn(*t.shape)


def numpy_state(model):
    return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}


def share_initial_state():
    """A ``setup(*models)`` pair: the torch run records its models' states, the gradstep run loads them."""
    states = []

    def record(*models):
        states.extend(numpy_state(m) for m in models)

    def load(*models):
        for m, state in zip(models, states):
            m.load_state_dict({k: gs.tensor(v) for k, v in state.items()})

    return record, load


def no_dropout(*models):
    for model in models:
        for m in model.modules():
            if type(m).__name__.startswith("Dropout"):
                m.p = 0.0


def assert_states_close(gs_model, torch_model, rtol=1e-4, atol=1e-5):
    ours, theirs = numpy_state(gs_model), numpy_state(torch_model)
    assert ours.keys() == theirs.keys()
    for k in theirs:
        assert ours[k].dtype == theirs[k].dtype, k
        np.testing.assert_allclose(ours[k], theirs[k], rtol=rtol, atol=atol, err_msg=k)


def then(*fns):
    def run(*models):
        for f in fns:
            f(*models)
    return run


@pytest.fixture(autouse=True)
def restore_cudnn_benchmark(torch, monkeypatch):
    """dcgan sets ``cudnn.benchmark = True``; put it back for the tests that follow."""
    for cudnn in (torch.backends.cudnn, gs.backends.cudnn):
        monkeypatch.setattr(cudnn, "benchmark", cudnn.benchmark)


# ---------------------------------------------------------------- mnist/main.py
def mnist_main(torch, images, labels, tmp_path, setup=lambda model: None, epochs=2, batch_size=8):
    nn, F, optim = torch.nn, torch.nn.functional, torch.optim
    StepLR = torch.optim.lr_scheduler.StepLR
    log = []

    class Net(nn.Module):
        def __init__(self):
            super(Net, self).__init__()
            self.conv1 = nn.Conv2d(1, 32, 3, 1)
            self.conv2 = nn.Conv2d(32, 64, 3, 1)
            self.dropout1 = nn.Dropout(0.25)
            self.dropout2 = nn.Dropout(0.5)
            self.fc1 = nn.Linear(9216, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            x = self.conv1(x)
            x = F.relu(x)
            x = self.conv2(x)
            x = F.relu(x)
            x = F.max_pool2d(x, 2)
            x = self.dropout1(x)
            x = torch.flatten(x, 1)
            x = self.fc1(x)
            x = F.relu(x)
            x = self.dropout2(x)
            x = self.fc2(x)
            output = F.log_softmax(x, dim=1)
            return output

    def train(model, device, train_loader, optimizer, epoch):
        model.train()
        losses = []
        for batch_idx, (data, target) in enumerate(train_loader):
            data, target = data.to(device), target.to(device)
            optimizer.zero_grad()
            output = model(data)
            loss = F.nll_loss(output, target)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            log.append('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(
                epoch, batch_idx * len(data), len(train_loader.dataset),
                100. * batch_idx / len(train_loader), loss.item()))
        return losses

    def test(model, device, test_loader):
        model.eval()
        test_loss = 0
        correct = 0
        with torch.no_grad():
            for data, target in test_loader:
                data, target = data.to(device), target.to(device)
                output = model(data)
                test_loss += F.nll_loss(output, target, reduction='sum').item()  # sum up batch loss
                pred = output.argmax(dim=1, keepdim=True)  # get the index of the max log-probability
                correct += pred.eq(target.view_as(pred)).sum().item()

        test_loss /= len(test_loader.dataset)
        log.append('\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n'.format(
            test_loss, correct, len(test_loader.dataset),
            100. * correct / len(test_loader.dataset)))
        return test_loss, correct

    use_cuda = torch.cuda.is_available()
    use_mps = torch.backends.mps.is_available()

    torch.manual_seed(1)

    if use_cuda:
        device = torch.device("cuda")
    elif use_mps:
        device = torch.device("mps")
    else:
        device = torch.device("cpu")

    train_kwargs = {'batch_size': batch_size}
    test_kwargs = {'batch_size': 2 * batch_size}
    if use_cuda:
        cuda_kwargs = {'num_workers': 1, 'pin_memory': True, 'shuffle': True}
        train_kwargs.update(cuda_kwargs)
        test_kwargs.update(cuda_kwargs)

    # stands for datasets.MNIST(..., transform=Compose([ToTensor(), Normalize((0.1307,), (0.3081,))]))
    x = torch.from_numpy((images - 0.1307) / 0.3081)
    y = torch.from_numpy(labels)
    dataset1 = torch.utils.data.TensorDataset(x[:16], y[:16])
    dataset2 = torch.utils.data.TensorDataset(x[16:], y[16:])
    train_loader = torch.utils.data.DataLoader(dataset1, **train_kwargs)
    test_loader = torch.utils.data.DataLoader(dataset2, **test_kwargs)

    model = Net().to(device)
    setup(model)
    optimizer = optim.Adadelta(model.parameters(), lr=1.0)

    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
    losses, tests = [], []
    for epoch in range(1, epochs + 1):
        losses += train(model, device, train_loader, optimizer, epoch)
        tests.append(test(model, device, test_loader))
        scheduler.step()

    torch.save(model.state_dict(), str(tmp_path / "mnist_cnn.pt"))
    return dict(model=model, losses=losses, tests=tests, lr=optimizer.param_groups[0]['lr'], log=log)


@pytest.fixture(scope="module")
def mnist_data():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 32)
    images = rng.random((32, 1, 28, 28), dtype=np.float32) * 0.3
    for i, c in enumerate(labels):  # a class-dependent bright bar, so there is something to learn
        images[i, 0, 2 + 2 * c: 5 + 2 * c, 4:24] = 1.0
    return images, labels


def test_mnist_runs_unchanged(mnist_data, tmp_path, torch):
    out = mnist_main(gs, *mnist_data, tmp_path)
    assert all(np.isfinite(out["losses"])) and out["losses"][-1] < out["losses"][0]
    assert out["lr"] == pytest.approx(0.49)
    assert "Train Epoch: 1 [0/16 (0%)]\tLoss: " in out["log"][0] and "Test set: Average loss: " in out["log"][2]
    assert all(type(correct) is int for _, correct in out["tests"])
    saved = gs.load(str(tmp_path / "mnist_cnn.pt"))
    assert saved.keys() == out["model"].state_dict().keys()
    np.testing.assert_array_equal(saved["fc2.bias"].numpy(), out["model"].fc2.bias.detach().numpy())


def test_mnist_matches_torch(mnist_data, tmp_path, torch):
    record, load = share_initial_state()
    theirs = mnist_main(torch, *mnist_data, tmp_path, setup=then(record, no_dropout))
    ours = mnist_main(gs, *mnist_data, tmp_path, setup=then(load, no_dropout))
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=1e-4, atol=1e-5)
    assert [c for _, c in ours["tests"]] == [c for _, c in theirs["tests"]]
    np.testing.assert_allclose([l for l, _ in ours["tests"]], [l for l, _ in theirs["tests"]], rtol=1e-4)
    assert ours["lr"] == pytest.approx(theirs["lr"])
    assert str(ours["model"]) == str(theirs["model"])  # print(model)
    assert_states_close(ours["model"], theirs["model"])


# ---------------------------------------------------------------- vae/main.py
def vae_main(torch, images, tmp_path, setup=lambda model: None, epochs=2, batch_size=8, shuffle=True):
    nn, F, optim = torch.nn, torch.nn.functional, torch.optim
    cuda = torch.cuda.is_available()
    use_mps = torch.backends.mps.is_available()
    torch.manual_seed(1)
    if cuda:
        device = torch.device("cuda")
    elif use_mps:
        device = torch.device("mps")
    else:
        device = torch.device("cpu")
    kwargs = {'num_workers': 1, 'pin_memory': True} if cuda else {}
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(images), torch.zeros(len(images)))
    train_loader = torch.utils.data.DataLoader(
        torch.utils.data.Subset(dataset, range(16)), batch_size=batch_size, shuffle=shuffle, **kwargs)
    test_loader = torch.utils.data.DataLoader(
        torch.utils.data.Subset(dataset, range(16, 24)), batch_size=batch_size, shuffle=False, **kwargs)
    comparisons, samples = [], []

    class VAE(nn.Module):
        def __init__(self):
            super(VAE, self).__init__()

            self.fc1 = nn.Linear(784, 400)
            self.fc21 = nn.Linear(400, 20)
            self.fc22 = nn.Linear(400, 20)
            self.fc3 = nn.Linear(20, 400)
            self.fc4 = nn.Linear(400, 784)

        def encode(self, x):
            h1 = F.relu(self.fc1(x))
            return self.fc21(h1), self.fc22(h1)

        def reparameterize(self, mu, logvar):
            std = torch.exp(0.5*logvar)
            eps = torch.randn_like(std)
            return mu + eps*std

        def decode(self, z):
            h3 = F.relu(self.fc3(z))
            return torch.sigmoid(self.fc4(h3))

        def forward(self, x):
            mu, logvar = self.encode(x.view(-1, 784))
            z = self.reparameterize(mu, logvar)
            return self.decode(z), mu, logvar

    model = VAE().to(device)
    setup(model)
    optimizer = optim.Adam(model.parameters(), lr=1e-3)

    # Reconstruction + KL divergence losses summed over all elements and batch
    def loss_function(recon_x, x, mu, logvar):
        BCE = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction='sum')

        # see Appendix B from VAE paper:
        # Kingma and Welling. Auto-Encoding Variational Bayes. ICLR, 2014
        # https://arxiv.org/abs/1312.6114
        # 0.5 * sum(1 + log(sigma^2) - mu^2 - sigma^2)
        KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())

        return BCE + KLD

    def train(epoch):
        model.train()
        train_loss = 0
        losses = []
        for batch_idx, (data, _) in enumerate(train_loader):
            data = data.to(device)
            optimizer.zero_grad()
            recon_batch, mu, logvar = model(data)
            loss = loss_function(recon_batch, data, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
            losses.append(loss.item() / len(data))
        return losses, train_loss / len(train_loader.dataset)

    def test(epoch):
        model.eval()
        test_loss = 0
        with torch.no_grad():
            for i, (data, _) in enumerate(test_loader):
                data = data.to(device)
                recon_batch, mu, logvar = model(data)
                test_loss += loss_function(recon_batch, data, mu, logvar).item()
                if i == 0:
                    n = min(data.size(0), 8)
                    comparison = torch.cat([data[:n],
                                          recon_batch.view(batch_size, 1, 28, 28)[:n]])
                    comparisons.append(comparison.cpu())  # save_image(comparison.cpu(), ..., nrow=n)

        test_loss /= len(test_loader.dataset)
        return test_loss

    losses, averages, tests = [], [], []
    for epoch in range(1, epochs + 1):
        batch_losses, average = train(epoch)
        losses += batch_losses
        averages.append(average)
        tests.append(test(epoch))
        with torch.no_grad():
            sample = torch.randn(64, 20).to(device)
            sample = model.decode(sample).cpu()
            samples.append(sample.view(64, 1, 28, 28))  # save_image(sample.view(64, 1, 28, 28), ...)
    torch.save(model.state_dict(), str(tmp_path / "vae.pt"))
    return dict(model=model, losses=losses, averages=averages, tests=tests, comparisons=comparisons,
                samples=samples)


@pytest.fixture(scope="module")
def vae_images():
    rng = np.random.default_rng(1)
    return (rng.random((24, 1, 28, 28), dtype=np.float32) < 0.2).astype(np.float32)


def test_vae_runs_unchanged(vae_images, tmp_path, torch):
    out = vae_main(gs, vae_images, tmp_path)
    assert all(np.isfinite(out["losses"])) and all(np.isfinite(out["tests"]))
    assert out["averages"][-1] < out["averages"][0]
    assert out["comparisons"][0].shape == (16, 1, 28, 28)
    assert out["samples"][0].shape == (64, 1, 28, 28) and out["samples"][0].dtype == gs.float32
    assert gs.load(str(tmp_path / "vae.pt")).keys() == out["model"].state_dict().keys()


def test_vae_matches_torch(vae_images, tmp_path, torch):
    record, load = share_initial_state()
    theirs = vae_main(SharedNoise(torch, 5), vae_images, tmp_path, setup=record, shuffle=False)
    ours = vae_main(SharedNoise(gs, 5), vae_images, tmp_path, setup=load, shuffle=False)
    for key in ("losses", "averages", "tests"):
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-4, err_msg=key)
    for key in ("comparisons", "samples"):
        for a, b in zip(ours[key], theirs[key]):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5, err_msg=key)
    assert_states_close(ours["model"], theirs["model"])


# ---------------------------------------------------------------- dcgan/main.py (32x32 images)
def dcgan_main(torch, images, tmp_path, setup=lambda netG, netD: None, niter=1, batchSize=8, shuffle=True,
               workers=0, accel=True):
    nn, optim = torch.nn, torch.optim
    cudnn = torch.backends.cudnn
    torch.manual_seed(999)
    cudnn.benchmark = True
    if accel and torch.accelerator.is_available():
        device = torch.accelerator.current_accelerator()
    else:
        device = torch.device("cpu")
    ngpu, nz, ngf, ndf, nc = 1, 16, 8, 8, 3
    lr, beta1 = 0.0002, 0.5
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(images), torch.zeros(len(images), dtype=torch.long))
    dataloader = torch.utils.data.DataLoader(dataset, batch_size=batchSize, shuffle=shuffle,
                                             num_workers=int(workers))

    # custom weights initialization called on netG and netD
    def weights_init(m):
        classname = m.__class__.__name__
        if classname.find('Conv') != -1:
            torch.nn.init.normal_(m.weight, 0.0, 0.02)
        elif classname.find('BatchNorm') != -1:
            torch.nn.init.normal_(m.weight, 1.0, 0.02)
            torch.nn.init.constant_(m.bias, 0)

    class Generator(nn.Module):
        def __init__(self, ngpu):
            super(Generator, self).__init__()
            self.ngpu = ngpu
            self.main = nn.Sequential(
                # input is Z, going into a convolution
                nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False),
                nn.BatchNorm2d(ngf * 4),
                nn.ReLU(True),
                # state size. (ngf*4) x 4 x 4
                nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ngf * 2),
                nn.ReLU(True),
                # state size. (ngf*2) x 8 x 8
                nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ngf),
                nn.ReLU(True),
                # state size. (ngf) x 16 x 16
                nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
                nn.Tanh()
                # state size. (nc) x 32 x 32
            )

        def forward(self, input):
            if input.is_cuda and self.ngpu > 1:
                output = nn.parallel.data_parallel(self.main, input, range(self.ngpu))
            else:
                output = self.main(input)
            return output

    netG = Generator(ngpu).to(device)
    netG.apply(weights_init)
    text = [str(netG)]

    class Discriminator(nn.Module):
        def __init__(self, ngpu):
            super(Discriminator, self).__init__()
            self.ngpu = ngpu
            self.main = nn.Sequential(
                # input is (nc) x 32 x 32
                nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
                nn.LeakyReLU(0.2, inplace=True),
                # state size. (ndf) x 16 x 16
                nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ndf * 2),
                nn.LeakyReLU(0.2, inplace=True),
                # state size. (ndf*2) x 8 x 8
                nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ndf * 4),
                nn.LeakyReLU(0.2, inplace=True),
                # state size. (ndf*4) x 4 x 4
                nn.Conv2d(ndf * 4, 1, 4, 1, 0, bias=False),
                nn.Sigmoid()
            )

        def forward(self, input):
            if input.is_cuda and self.ngpu > 1:
                output = nn.parallel.data_parallel(self.main, input, range(self.ngpu))
            else:
                output = self.main(input)

            return output.view(-1, 1).squeeze(1)

    netD = Discriminator(ngpu).to(device)
    netD.apply(weights_init)
    text.append(str(netD))
    setup(netG, netD)

    criterion = nn.BCELoss()

    fixed_noise = torch.randn(batchSize, nz, 1, 1, device=device)
    real_label = 1
    fake_label = 0

    # setup optimizer
    optimizerD = optim.Adam(netD.parameters(), lr=lr, betas=(beta1, 0.999))
    optimizerG = optim.Adam(netG.parameters(), lr=lr, betas=(beta1, 0.999))

    history, fakes = [], []
    for epoch in range(niter):
        for i, data in enumerate(dataloader, 0):
            ############################
            # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
            ###########################
            # train with real
            netD.zero_grad()
            real_cpu = data[0].to(device)
            batch_size = real_cpu.size(0)
            label = torch.full((batch_size,), real_label,
                               dtype=torch.float, device=device)

            output = netD(real_cpu)
            errD_real = criterion(output, label)
            errD_real.backward()
            D_x = output.mean().item()

            # train with fake
            noise = torch.randn(batch_size, nz, 1, 1, device=device)
            fake = netG(noise)
            label.fill_(fake_label)
            output = netD(fake.detach())
            errD_fake = criterion(output, label)
            errD_fake.backward()
            D_G_z1 = output.mean().item()
            errD = errD_real + errD_fake
            optimizerD.step()

            ############################
            # (2) Update G network: maximize log(D(G(z)))
            ###########################
            netG.zero_grad()
            label.fill_(real_label)  # fake labels are real for generator cost
            output = netD(fake)
            errG = criterion(output, label)
            errG.backward()
            D_G_z2 = output.mean().item()
            optimizerG.step()

            text.append('[%d/%d][%d/%d] Loss_D: %.4f Loss_G: %.4f D(x): %.4f D(G(z)): %.4f / %.4f'
                        % (epoch, niter, i, len(dataloader),
                           errD.item(), errG.item(), D_x, D_G_z1, D_G_z2))
            history.append((errD.item(), errG.item(), D_x, D_G_z1, D_G_z2))
            if i % 100 == 0:
                fake = netG(fixed_noise)
                fakes.append(fake.detach())  # vutils.save_image(fake.detach(), ...)

        # do checkpointing
        torch.save(netG.state_dict(), '%s/netG_epoch_%d.pth' % (tmp_path, epoch))
        torch.save(netD.state_dict(), '%s/netD_epoch_%d.pth' % (tmp_path, epoch))
    return dict(netG=netG, netD=netD, history=history, fakes=fakes, text=text)


@pytest.fixture(scope="module")
def dcgan_images():
    rng = np.random.default_rng(2)
    return np.tanh(rng.standard_normal((24, 3, 32, 32), dtype=np.float32))


def test_dcgan_runs_unchanged(dcgan_images, tmp_path, torch):
    out = dcgan_main(gs, dcgan_images, tmp_path, workers=2)
    assert len(out["history"]) == 3 and np.isfinite(out["history"]).all()
    assert out["fakes"][0].shape == (8, 3, 32, 32)
    assert "ConvTranspose2d" in out["text"][0] and "LeakyReLU" in out["text"][1]
    # netG.load_state_dict(torch.load(opt.netG)), as the script does when resuming
    out["netG"].load_state_dict(gs.load(str(tmp_path / "netG_epoch_0.pth")))
    out["netD"].load_state_dict(gs.load(str(tmp_path / "netD_epoch_0.pth")))


def test_dcgan_matches_torch(dcgan_images, tmp_path, torch):
    record, load = share_initial_state()
    theirs = dcgan_main(SharedNoise(torch, 7), dcgan_images, tmp_path, setup=record, shuffle=False)
    ours = dcgan_main(SharedNoise(gs, 7), dcgan_images, tmp_path, setup=load, shuffle=False)
    np.testing.assert_allclose(ours["history"], theirs["history"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours["fakes"][0].numpy(), theirs["fakes"][0].numpy(), rtol=1e-4, atol=1e-5)
    assert ours["text"][:2] == theirs["text"][:2]  # print(netG), print(netD)
    assert_states_close(ours["netG"], theirs["netG"])
    assert_states_close(ours["netD"], theirs["netD"])
