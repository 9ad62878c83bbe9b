"""pytorch/examples' sequence scripts, written once and run with torch and with gradstep.

gradstep's promise: a PyTorch training script for the layers gradstep has runs
with its imports changed. Each script below is the example's code (model,
data handling, training loop) as a function of the library ``lib`` (torch or
gradstep, used as ``torch``, ``nn``, ``F``, ``optim``). Both libraries start
from the same weights (torch's initialisation copied into gradstep), see the
same tiny synthetic corpus, train a few steps with dropout 0, and must end
with the same losses and weights.

Deviations from the originals, each forced by a gap or by the test setting:

* word_language_model/main.py pickles the whole model (``torch.save(model, f)``);
  gradstep never pickles, so the script saves and loads ``model.state_dict()``.
* time_sequence_prediction/train.py trains with ``optim.LBFGS``, which gradstep
  doesn't have; the same model and closure train with ``optim.Adam`` here.
* sizes, step counts and the corpus are tiny; dropout is 0 (its masks come
  from each library's own RNG).
"""
from __future__ import annotations

import math
import types

import numpy as np
import pytest

import gradstep as gs


def _state(model) -> dict:
    return {k: np.array(v.detach().numpy(), copy=True) for k, v in model.state_dict().items()}


def _load(gs_model, state) -> None:
    """Load torch's initial weights (a ``_state`` snapshot) into the gradstep model."""
    gs_model.load_state_dict({k: gs.tensor(v) for k, v in state.items()})


def _assert_same_state(gs_model, torch_model, rtol, atol) -> None:
    g, t = _state(gs_model), _state(torch_model)
    assert list(g) == list(t)
    for k in t:
        assert g[k].dtype == t[k].dtype, k
        np.testing.assert_allclose(g[k], t[k], rtol=rtol, atol=atol, err_msg=k)


# =====================================================================================================
# word_language_model: data.py, model.py, main.py
# =====================================================================================================
def word_language_model(lib):
    torch, nn, F = lib, lib.nn, lib.nn.functional

    # ------------------------------------------------------------------ data.py
    class Dictionary(object):
        def __init__(self):
            self.word2idx = {}
            self.idx2word = []

        def add_word(self, word):
            if word not in self.word2idx:
                self.idx2word.append(word)
                self.word2idx[word] = len(self.idx2word) - 1
            return self.word2idx[word]

        def __len__(self):
            return len(self.idx2word)

    class Corpus(object):
        def __init__(self, path):
            self.dictionary = Dictionary()
            self.train = self.tokenize(path / "train.txt")
            self.valid = self.tokenize(path / "valid.txt")
            self.test = self.tokenize(path / "test.txt")

        def tokenize(self, path):
            """Tokenizes a text file."""
            assert path.exists()
            # Add words to the dictionary
            with open(path, "r", encoding="utf8") as f:
                for line in f:
                    words = line.split() + ["<eos>"]
                    for word in words:
                        self.dictionary.add_word(word)

            # Tokenize file content
            with open(path, "r", encoding="utf8") as f:
                idss = []
                for line in f:
                    words = line.split() + ["<eos>"]
                    ids = []
                    for word in words:
                        ids.append(self.dictionary.word2idx[word])
                    idss.append(torch.tensor(ids).type(torch.int64))
                ids = torch.cat(idss)

            return ids

    # ------------------------------------------------------------------ model.py
    class RNNModel(nn.Module):
        """Container module with an encoder, a recurrent module, and a decoder."""

        def __init__(self, rnn_type, ntoken, ninp, nhid, nlayers, dropout=0.5, tie_weights=False):
            super(RNNModel, self).__init__()
            self.ntoken = ntoken
            self.drop = nn.Dropout(dropout)
            self.encoder = nn.Embedding(ntoken, ninp)
            if rnn_type in ["LSTM", "GRU"]:
                self.rnn = getattr(nn, rnn_type)(ninp, nhid, nlayers, dropout=dropout)
            else:
                try:
                    nonlinearity = {"RNN_TANH": "tanh", "RNN_RELU": "relu"}[rnn_type]
                except KeyError as e:
                    raise ValueError("""An invalid option for `--model` was supplied,
                                     options are ['LSTM', 'GRU', 'RNN_TANH' or 'RNN_RELU']""") from e
                self.rnn = nn.RNN(ninp, nhid, nlayers, nonlinearity=nonlinearity, dropout=dropout)
            self.decoder = nn.Linear(nhid, ntoken)

            # Optionally tie weights as in:
            # "Using the Output Embedding to Improve Language Models" (Press & Wolf 2016)
            if tie_weights:
                if nhid != ninp:
                    raise ValueError("When using the tied flag, nhid must be equal to emsize")
                self.decoder.weight = self.encoder.weight

            self.init_weights()

            self.rnn_type = rnn_type
            self.nhid = nhid
            self.nlayers = nlayers

        def init_weights(self):
            initrange = 0.1
            nn.init.uniform_(self.encoder.weight, -initrange, initrange)
            nn.init.zeros_(self.decoder.bias)
            nn.init.uniform_(self.decoder.weight, -initrange, initrange)

        def forward(self, input, hidden):
            emb = self.drop(self.encoder(input))
            output, hidden = self.rnn(emb, hidden)
            output = self.drop(output)
            decoded = self.decoder(output)
            decoded = decoded.view(-1, self.ntoken)
            return F.log_softmax(decoded, dim=1), hidden

        def init_hidden(self, bsz):
            weight = next(self.parameters())
            if self.rnn_type == "LSTM":
                return (weight.new_zeros(self.nlayers, bsz, self.nhid),
                        weight.new_zeros(self.nlayers, bsz, self.nhid))
            else:
                return weight.new_zeros(self.nlayers, bsz, self.nhid)

    # Temporarily leave PositionalEncoding module here. Will be moved somewhere else.
    class PositionalEncoding(nn.Module):
        r"""Inject some information about the relative or absolute position of the tokens in the sequence."""

        def __init__(self, d_model, dropout=0.1, max_len=5000):
            super(PositionalEncoding, self).__init__()
            self.dropout = nn.Dropout(p=dropout)

            pe = torch.zeros(max_len, d_model)
            position = torch.arange(0, max_len, dtype=torch.float).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model))
            pe[:, 0::2] = torch.sin(position * div_term)
            pe[:, 1::2] = torch.cos(position * div_term)
            pe = pe.unsqueeze(0).transpose(0, 1)
            self.register_buffer("pe", pe)

        def forward(self, x):
            x = x + self.pe[:x.size(0), :]
            return self.dropout(x)

    class TransformerModel(nn.Module):
        """Container module with an encoder, a recurrent or transformer module, and a decoder."""

        def __init__(self, ntoken, ninp, nhead, nhid, nlayers, dropout=0.5):
            super(TransformerModel, self).__init__()
            TransformerEncoder, TransformerEncoderLayer = nn.TransformerEncoder, nn.TransformerEncoderLayer
            self.model_type = "Transformer"
            self.src_mask = None
            self.pos_encoder = PositionalEncoding(ninp, dropout)
            encoder_layers = TransformerEncoderLayer(ninp, nhead, nhid, dropout)
            self.transformer_encoder = TransformerEncoder(encoder_layers, nlayers)
            self.encoder = nn.Embedding(ntoken, ninp)
            self.ninp = ninp
            self.decoder = nn.Linear(ninp, ntoken)

            self.init_weights()

        def _generate_square_subsequent_mask(self, sz):
            mask = (torch.triu(torch.ones(sz, sz)) == 1).transpose(0, 1)
            mask = mask.float().masked_fill(mask == 0, float("-inf")).masked_fill(mask == 1, float(0.0))
            return mask

        def init_weights(self):
            initrange = 0.1
            nn.init.uniform_(self.encoder.weight, -initrange, initrange)
            nn.init.zeros_(self.decoder.bias)
            nn.init.uniform_(self.decoder.weight, -initrange, initrange)

        def forward(self, src, has_mask=True):
            if has_mask:
                device = src.device
                if self.src_mask is None or self.src_mask.size(0) != len(src):
                    mask = self._generate_square_subsequent_mask(len(src)).to(device)
                    self.src_mask = mask
            else:
                self.src_mask = None

            src = self.encoder(src) * math.sqrt(self.ninp)
            src = self.pos_encoder(src)
            output = self.transformer_encoder(src, self.src_mask)
            output = self.decoder(output)
            return F.log_softmax(output, dim=-1)

    class TransformerModelOnTransformer(nn.Transformer):
        """The newer model.py: the model is an nn.Transformer whose encoder is used alone."""

        def __init__(self, ntoken, ninp, nhead, nhid, nlayers, dropout=0.5):
            super(TransformerModelOnTransformer, self).__init__(
                d_model=ninp, nhead=nhead, dim_feedforward=nhid, num_encoder_layers=nlayers, dropout=dropout)
            self.model_type = "Transformer"
            self.src_mask = None
            self.pos_encoder = PositionalEncoding(ninp, dropout)

            self.input_emb = nn.Embedding(ntoken, ninp)
            self.ninp = ninp
            self.decoder = nn.Linear(ninp, ntoken)

            self.init_weights()

        def _generate_square_subsequent_mask(self, sz):
            return torch.log(torch.tril(torch.ones(sz, sz)))

        def init_weights(self):
            initrange = 0.1
            nn.init.uniform_(self.input_emb.weight, -initrange, initrange)
            nn.init.zeros_(self.decoder.bias)
            nn.init.uniform_(self.decoder.weight, -initrange, initrange)

        def forward(self, src, has_mask=True):
            if has_mask:
                device = src.device
                if self.src_mask is None or self.src_mask.size(0) != len(src):
                    mask = self._generate_square_subsequent_mask(len(src)).to(device)
                    self.src_mask = mask
            else:
                self.src_mask = None

            src = self.input_emb(src) * math.sqrt(self.ninp)
            src = self.pos_encoder(src)
            output = self.encoder(src, mask=self.src_mask)
            output = self.decoder(output)
            return F.log_softmax(output, dim=-1)

    return types.SimpleNamespace(Corpus=Corpus, RNNModel=RNNModel, TransformerModel=TransformerModel,
                                 TransformerModelOnTransformer=TransformerModelOnTransformer)


def word_language_model_main(lib, args, corpus, model, save_path):
    """main.py from "Load data" on (the model is built by the caller, so both libraries share weights)."""
    torch, nn = lib, lib.nn
    if torch.cuda.is_available():
        if not args.cuda:
            print("WARNING: You have a CUDA device, so you should probably run with --cuda.")
    if hasattr(torch.backends, "mps") and torch.backends.mps.is_available():
        if not args.mps:
            print("WARNING: You have mps device, to enable macOS GPU run with --mps.")

    use_mps = args.mps and torch.backends.mps.is_available()
    if args.cuda:
        device = torch.device("cuda")
    elif use_mps:
        device = torch.device("mps")
    else:
        device = torch.device("cpu")
    log = []

    def batchify(data, bsz):
        # Work out how cleanly we can divide the dataset into bsz parts.
        nbatch = data.size(0) // bsz
        # Trim off any extra elements that wouldn't cleanly fit (remainders).
        data = data.narrow(0, 0, nbatch * bsz)
        # Evenly divide the data across the bsz batches.
        data = data.view(bsz, -1).t().contiguous()
        return data.to(device)

    eval_batch_size = 2
    train_data = batchify(corpus.train, args.batch_size)
    val_data = batchify(corpus.valid, eval_batch_size)
    test_data = batchify(corpus.test, eval_batch_size)

    ntokens = len(corpus.dictionary)
    model = model.to(device)
    criterion = nn.NLLLoss()

    def repackage_hidden(h):
        """Wraps hidden states in new Tensors, to detach them from their history."""
        if isinstance(h, torch.Tensor):
            return h.detach()
        else:
            return tuple(repackage_hidden(v) for v in h)

    def get_batch(source, i):
        seq_len = min(args.bptt, len(source) - 1 - i)
        data = source[i:i + seq_len]
        target = source[i + 1:i + 1 + seq_len].view(-1)
        return data, target

    def evaluate(data_source):
        # Turn on evaluation mode which disables dropout.
        model.eval()
        total_loss = 0.
        ntokens = len(corpus.dictionary)
        if args.model != "Transformer":
            hidden = model.init_hidden(eval_batch_size)
        with torch.no_grad():
            for i in range(0, data_source.size(0) - 1, args.bptt):
                data, targets = get_batch(data_source, i)
                if args.model == "Transformer":
                    output = model(data)
                    output = output.view(-1, ntokens)
                else:
                    output, hidden = model(data, hidden)
                    hidden = repackage_hidden(hidden)
                total_loss += len(data) * criterion(output, targets).item()
        return total_loss / (len(data_source) - 1)

    def train():
        # Turn on training mode which enables dropout.
        model.train()
        total_loss = 0.
        ntokens = len(corpus.dictionary)
        if args.model != "Transformer":
            hidden = model.init_hidden(args.batch_size)
        for batch, i in enumerate(range(0, train_data.size(0) - 1, args.bptt)):
            data, targets = get_batch(train_data, i)
            # Starting each batch, we detach the hidden state from how it was previously produced.
            # If we didn't, the model would try backpropagating all the way to start of the dataset.
            model.zero_grad()
            if args.model == "Transformer":
                output = model(data)
                output = output.view(-1, ntokens)
            else:
                hidden = repackage_hidden(hidden)
                output, hidden = model(data, hidden)
            loss = criterion(output, targets)
            loss.backward()

            # `clip_grad_norm` helps prevent the exploding gradient problem in RNNs / LSTMs.
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            for p in model.parameters():
                p.data.add_(p.grad, alpha=-lr)

            total_loss += loss.item()
            log.append(loss.item())
            if batch % args.log_interval == 0 and batch > 0:
                cur_loss = total_loss / args.log_interval
                "| epoch {:3d} | {:5d}/{:5d} batches | lr {:02.2f} | loss {:5.2f} | ppl {:8.2f}".format(
                    epoch, batch, len(train_data) // args.bptt, lr, cur_loss, math.exp(cur_loss))
                total_loss = 0

    # Loop over epochs.
    lr = args.lr
    best_val_loss = None
    val_losses = []
    for epoch in range(1, args.epochs + 1):
        train()
        val_loss = evaluate(val_data)
        val_losses.append(val_loss)
        "| end of epoch {:3d} | valid loss {:5.2f} | valid ppl {:8.2f}".format(epoch, val_loss, math.exp(val_loss))
        # Save the model if the validation loss is the best we've seen so far.
        if not best_val_loss or val_loss < best_val_loss:
            with open(save_path, "wb") as f:
                torch.save(model.state_dict(), f)  # the original: torch.save(model, f)
            best_val_loss = val_loss
        else:
            # Anneal the learning rate if no improvement has been seen in the validation dataset.
            lr /= 4.0

    # Load the best saved model.
    with open(save_path, "rb") as f:
        model.load_state_dict(torch.load(f))  # the original: model = torch.load(f)
        # after load the rnn params are not a continuous chunk of memory
        # this makes them a continuous chunk, and will speed up forward pass
        # Currently, only rnn model supports flatten_parameters function.
        if args.model in ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"]:
            model.rnn.flatten_parameters()

    # Run on test data.
    test_loss = evaluate(test_data)
    return log, val_losses, test_loss


def word_language_model_generate(lib, args, corpus, model, outf_path):
    """generate.py after loading the checkpoint: sample ``args.words`` words from the trained model."""
    torch = lib
    device = torch.device("cpu")
    if args.temperature < 1e-3:
        raise ValueError("--temperature has to be greater or equal 1e-3.")
    model.eval()

    ntokens = len(corpus.dictionary)

    is_transformer_model = hasattr(model, "model_type") and model.model_type == "Transformer"
    if not is_transformer_model:
        hidden = model.init_hidden(1)
    input = torch.randint(ntokens, (1, 1), dtype=torch.long).to(device)

    with open(outf_path, "w") as outf:
        with torch.no_grad():  # no tracking history
            for i in range(args.words):
                if is_transformer_model:
                    output = model(input, False)
                    word_weights = output[-1].squeeze().div(args.temperature).exp().cpu()
                    word_idx = torch.multinomial(word_weights, 1)[0]
                    word_tensor = torch.Tensor([[word_idx]]).long().to(device)
                    input = torch.cat([input, word_tensor], 0)
                else:
                    output, hidden = model(input, hidden)
                    word_weights = output.squeeze().div(args.temperature).exp().cpu()
                    word_idx = torch.multinomial(word_weights, 1)[0]
                    input.fill_(word_idx)

                word = corpus.dictionary.idx2word[word_idx]

                outf.write(word + ("\n" if i % 20 == 19 else " "))
    return outf_path.read_text().split()


_WORDS = ("the cat sat on a mat while dogs ran in parks and birds sang over green hills near old towns "
          "by quiet rivers").split()


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory):
    """A tiny wikitext-like corpus: train/valid/test.txt of random sentences over a 24-word vocabulary."""
    rng = np.random.default_rng(7)
    path = tmp_path_factory.mktemp("wikitext-tiny")
    for name, lines in (("train", 8), ("valid", 3), ("test", 3)):
        text = "\n".join(" ".join(rng.choice(_WORDS, rng.integers(4, 9))) for _ in range(lines))
        (path / f"{name}.txt").write_text(text + "\n", encoding="utf8")
    return path


def _wlm_args(**overrides):
    # lr 5, not main.py's 20: at 20 these tiny models train chaotically and float32 round-off grows past 1e-4
    args = dict(model="LSTM", emsize=8, nhid=8, nlayers=2, lr=5.0, clip=0.25, epochs=2, batch_size=4, bptt=5,
                dropout=0.0, tied=False, nhead=2, log_interval=2,
                cuda=False, mps=False)
    args.update(overrides)
    return types.SimpleNamespace(**args)


def _run_wlm(torch, corpus_dir, tmp_path, args, seed=0):
    torch.manual_seed(seed)  # main.py's --seed
    results = {}
    models = {}
    for lib in (torch, gs):
        script = word_language_model(lib)
        corpus = script.Corpus(corpus_dir)
        ntokens = len(corpus.dictionary)
        assert corpus.train.dtype == lib.int64
        if args.model == "Transformer":
            make = script.TransformerModelOnTransformer if getattr(args, "on_transformer", False) \
                else script.TransformerModel
            model = make(ntokens, args.emsize, args.nhead, args.nhid, args.nlayers, args.dropout)
        else:
            model = script.RNNModel(args.model, ntokens, args.emsize, args.nhid, args.nlayers, args.dropout,
                                    args.tied)
        if lib is gs:
            _load(model, initial)
        else:
            initial = _state(model)
        models[lib] = model
        results[lib] = word_language_model_main(lib, args, corpus, model, tmp_path / f"model-{lib.__name__}.pt")
    (g_log, g_val, g_test), (t_log, t_val, t_test) = results[gs], results[torch]
    assert len(g_log) == len(t_log) >= 4
    np.testing.assert_allclose(g_log, t_log, rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(g_val, t_val, rtol=2e-5, atol=2e-5)
    assert g_test == pytest.approx(t_test, rel=2e-5, abs=2e-5)
    assert math.isfinite(math.exp(g_test))
    _assert_same_state(models[gs], models[torch], rtol=1e-4, atol=1e-5)
    # generate.py on the trained models: sampling draws from each library's own RNG, so only the words' form
    # is compared (their count, and that they come from the dictionary)
    for lib in (torch, gs):
        corpus = word_language_model(lib).Corpus(corpus_dir)
        gen_args = types.SimpleNamespace(words=25, temperature=1.0)
        words = word_language_model_generate(lib, gen_args, corpus, models[lib], tmp_path / "generated.txt")
        assert len(words) == 25 and set(words) <= set(corpus.dictionary.idx2word)
    return models


@pytest.mark.parametrize("rnn_type,tied", [("LSTM", False), ("GRU", True), ("RNN_TANH", False),
                                           ("RNN_RELU", True)])
def test_word_language_model_rnn(torch, corpus_dir, tmp_path, rnn_type, tied):
    models = _run_wlm(torch, corpus_dir, tmp_path, _wlm_args(model=rnn_type, tied=tied))
    if tied:  # one parameter, still shared after training and loading
        m = models[gs]
        assert m.decoder.weight is m.encoder.weight
        assert len(list(m.parameters())) == len(list(models[torch].parameters()))


@pytest.mark.parametrize("on_transformer", [False, True], ids=["TransformerEncoder", "nn.Transformer-subclass"])
def test_word_language_model_transformer(torch, corpus_dir, tmp_path, on_transformer):
    _run_wlm(torch, corpus_dir, tmp_path, _wlm_args(model="Transformer", on_transformer=on_transformer, lr=1.0,
                                                    nhid=16, nlayers=1))


def test_invalid_rnn_type_message(torch):
    for lib in (torch, gs):
        with pytest.raises(ValueError, match="invalid option"):
            word_language_model(lib).RNNModel("LSTMX", 10, 4, 4, 1)


# =====================================================================================================
# time_sequence_prediction: generate_sine_wave.py, train.py
# =====================================================================================================
def time_sequence_prediction(lib):
    torch, nn = lib, lib.nn

    class Sequence(nn.Module):
        def __init__(self):
            super(Sequence, self).__init__()
            self.lstm1 = nn.LSTMCell(1, 51)
            self.lstm2 = nn.LSTMCell(51, 51)
            self.linear = nn.Linear(51, 1)

        def forward(self, input, future=0):
            outputs = []
            h_t = torch.zeros(input.size(0), 51, dtype=torch.double)
            c_t = torch.zeros(input.size(0), 51, dtype=torch.double)
            h_t2 = torch.zeros(input.size(0), 51, dtype=torch.double)
            c_t2 = torch.zeros(input.size(0), 51, dtype=torch.double)

            for input_t in input.split(1, dim=1):
                h_t, c_t = self.lstm1(input_t, (h_t, c_t))
                h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
                output = self.linear(h_t2)
                outputs += [output]
            for i in range(future):  # if we should predict the future
                h_t, c_t = self.lstm1(output, (h_t, c_t))
                h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
                output = self.linear(h_t2)
                outputs += [output]
            outputs = torch.cat(outputs, dim=1)
            return outputs

    return Sequence


def generate_sine_wave(T=20, L=24, N=6):
    np.random.seed(2)
    x = np.empty((N, L), "int64")
    x[:] = np.array(range(L)) + np.random.randint(-4 * T, 4 * T, N).reshape(N, 1)
    return np.sin(x / 1.0 / T).astype("float64")


def time_sequence_prediction_train(lib, seq, data, steps, optimizer_name):
    torch, nn, optim = lib, lib.nn, lib.optim
    # load data and make training set
    input = torch.from_numpy(data[3:, :-1])
    target = torch.from_numpy(data[3:, 1:])
    test_input = torch.from_numpy(data[:3, :-1])
    test_target = torch.from_numpy(data[:3, 1:])
    seq.double()
    criterion = nn.MSELoss()
    # the original: optimizer = optim.LBFGS(seq.parameters(), lr=0.8)
    if optimizer_name == "Adam":
        optimizer = optim.Adam(seq.parameters(), lr=0.01)
    else:
        optimizer = optim.SGD(seq.parameters(), lr=0.5, momentum=0.9)
    losses, test_losses = [], []
    # begin to train
    for i in range(steps):
        def closure():
            optimizer.zero_grad()
            out = seq(input)
            loss = criterion(out, target)
            losses.append(loss.item())
            loss.backward()
            return loss
        optimizer.step(closure)
        # begin to predict, no need to track gradient here
        with torch.no_grad():
            future = 5
            pred = seq(test_input, future=future)
            loss = criterion(pred[:, :-future], test_target)
            test_losses.append(loss.item())
            y = pred.detach().numpy()
    return losses, test_losses, y


@pytest.mark.parametrize("optimizer_name", ["Adam", "SGD"])
def test_time_sequence_prediction(torch, optimizer_name):
    data = generate_sine_wave()
    torch.manual_seed(0)
    models, results = {}, {}
    for lib in (torch, gs):
        seq = time_sequence_prediction(lib)()
        if lib is gs:
            _load(seq, initial)
        else:
            initial = _state(seq)
        models[lib] = seq
        results[lib] = time_sequence_prediction_train(lib, seq, data, steps=3, optimizer_name=optimizer_name)
    (g_loss, g_test, g_y), (t_loss, t_test, t_y) = results[gs], results[torch]
    np.testing.assert_allclose(g_loss, t_loss, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g_test, t_test, rtol=1e-10, atol=1e-12)
    assert g_y.dtype == np.float64 and g_y.shape == t_y.shape == (3, data.shape[1] - 1 + 5)
    np.testing.assert_allclose(g_y, t_y, rtol=1e-10, atol=1e-12)
    _assert_same_state(models[gs], models[torch], rtol=1e-9, atol=1e-12)


# =====================================================================================================
# seq2seq with nn.Transformer (the "Language Translation with nn.Transformer" tutorial's model and loop)
# =====================================================================================================
UNK_IDX, PAD_IDX, BOS_IDX, EOS_IDX = 0, 1, 2, 3


def seq2seq(lib):
    torch, nn = lib, lib.nn
    from_rnn = lib.nn.utils.rnn
    DataLoader = lib.utils.data.DataLoader
    Transformer = nn.Transformer
    DEVICE = torch.device("cpu")

    # helper Module that adds positional encoding to the token embedding to introduce a notion of word order.
    class PositionalEncoding(nn.Module):
        def __init__(self, emb_size, dropout, maxlen=5000):
            super(PositionalEncoding, self).__init__()
            den = torch.exp(- torch.arange(0, emb_size, 2) * math.log(10000) / emb_size)
            pos = torch.arange(0, maxlen).reshape(maxlen, 1)
            pos_embedding = torch.zeros((maxlen, emb_size))
            pos_embedding[:, 0::2] = torch.sin(pos * den)
            pos_embedding[:, 1::2] = torch.cos(pos * den)
            pos_embedding = pos_embedding.unsqueeze(-2)

            self.dropout = nn.Dropout(dropout)
            self.register_buffer("pos_embedding", pos_embedding)

        def forward(self, token_embedding):
            return self.dropout(token_embedding + self.pos_embedding[:token_embedding.size(0), :])

    # helper Module to convert tensor of input indices into corresponding tensor of token embeddings
    class TokenEmbedding(nn.Module):
        def __init__(self, vocab_size, emb_size):
            super(TokenEmbedding, self).__init__()
            self.embedding = nn.Embedding(vocab_size, emb_size)
            self.emb_size = emb_size

        def forward(self, tokens):
            return self.embedding(tokens.long()) * math.sqrt(self.emb_size)

    # Seq2Seq Network
    class Seq2SeqTransformer(nn.Module):
        def __init__(self, num_encoder_layers, num_decoder_layers, emb_size, nhead, src_vocab_size,
                     tgt_vocab_size, dim_feedforward=512, dropout=0.1):
            super(Seq2SeqTransformer, self).__init__()
            self.transformer = Transformer(d_model=emb_size, nhead=nhead, num_encoder_layers=num_encoder_layers,
                                           num_decoder_layers=num_decoder_layers, dim_feedforward=dim_feedforward,
                                           dropout=dropout)
            self.generator = nn.Linear(emb_size, tgt_vocab_size)
            self.src_tok_emb = TokenEmbedding(src_vocab_size, emb_size)
            self.tgt_tok_emb = TokenEmbedding(tgt_vocab_size, emb_size)
            self.positional_encoding = PositionalEncoding(emb_size, dropout=dropout)

        def forward(self, src, trg, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask,
                    memory_key_padding_mask):
            src_emb = self.positional_encoding(self.src_tok_emb(src))
            tgt_emb = self.positional_encoding(self.tgt_tok_emb(trg))
            outs = self.transformer(src_emb, tgt_emb, src_mask, tgt_mask, None,
                                    src_padding_mask, tgt_padding_mask, memory_key_padding_mask)
            return self.generator(outs)

        def encode(self, src, src_mask):
            return self.transformer.encoder(self.positional_encoding(self.src_tok_emb(src)), src_mask)

        def decode(self, tgt, memory, tgt_mask):
            return self.transformer.decoder(self.positional_encoding(self.tgt_tok_emb(tgt)), memory, tgt_mask)

    def generate_square_subsequent_mask(sz):
        mask = (torch.triu(torch.ones((sz, sz), device=DEVICE)) == 1).transpose(0, 1)
        mask = mask.float().masked_fill(mask == 0, float("-inf")).masked_fill(mask == 1, float(0.0))
        return mask

    def create_mask(src, tgt):
        src_seq_len = src.shape[0]
        tgt_seq_len = tgt.shape[0]

        tgt_mask = generate_square_subsequent_mask(tgt_seq_len)
        src_mask = torch.zeros((src_seq_len, src_seq_len), device=DEVICE).type(torch.bool)

        src_padding_mask = (src == PAD_IDX).transpose(0, 1)
        tgt_padding_mask = (tgt == PAD_IDX).transpose(0, 1)
        return src_mask, tgt_mask, src_padding_mask, tgt_padding_mask

    # function to add BOS/EOS and create tensor for input sequence indices
    def tensor_transform(token_ids):
        return torch.cat((torch.tensor([BOS_IDX]),
                          torch.tensor(token_ids),
                          torch.tensor([EOS_IDX])))

    # function to collate data samples into batch tensors
    def collate_fn(batch):
        src_batch, tgt_batch = [], []
        for src_sample, tgt_sample in batch:
            src_batch.append(tensor_transform(src_sample))
            tgt_batch.append(tensor_transform(tgt_sample))

        src_batch = from_rnn.pad_sequence(src_batch, padding_value=PAD_IDX)
        tgt_batch = from_rnn.pad_sequence(tgt_batch, padding_value=PAD_IDX)
        return src_batch, tgt_batch

    def train_epoch(model, optimizer, loss_fn, train_iter, BATCH_SIZE):
        model.train()
        losses = []
        train_dataloader = DataLoader(train_iter, batch_size=BATCH_SIZE, collate_fn=collate_fn)

        for src, tgt in train_dataloader:
            src = src.to(DEVICE)
            tgt = tgt.to(DEVICE)

            tgt_input = tgt[:-1, :]

            src_mask, tgt_mask, src_padding_mask, tgt_padding_mask = create_mask(src, tgt_input)

            logits = model(src, tgt_input, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask,
                           src_padding_mask)

            optimizer.zero_grad()

            tgt_out = tgt[1:, :]
            loss = loss_fn(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1))
            loss.backward()

            optimizer.step()
            losses.append(loss.item())
        return losses

    # function to generate output sequence using greedy algorithm
    def greedy_decode(model, src, src_mask, max_len, start_symbol):
        src = src.to(DEVICE)
        src_mask = src_mask.to(DEVICE)

        memory = model.encode(src, src_mask)
        ys = torch.ones(1, 1).fill_(start_symbol).type(torch.long).to(DEVICE)
        for i in range(max_len - 1):
            memory = memory.to(DEVICE)
            tgt_mask = (generate_square_subsequent_mask(ys.size(0))
                        .type(torch.bool)).to(DEVICE)
            out = model.decode(ys, memory, tgt_mask)
            out = out.transpose(0, 1)
            prob = model.generator(out[:, -1])
            _, next_word = torch.max(prob, dim=1)
            next_word = next_word.item()

            ys = torch.cat([ys, torch.ones(1, 1).type_as(src.data).fill_(next_word)], dim=0)
            if next_word == EOS_IDX:
                break
        return ys

    # actual function to translate input sentence into target language
    def translate(model, src_ids):
        model.eval()
        src = tensor_transform(src_ids).view(-1, 1)
        num_tokens = src.shape[0]
        src_mask = (torch.zeros(num_tokens, num_tokens)).type(torch.bool)
        tgt_tokens = greedy_decode(model, src, src_mask, max_len=num_tokens + 5, start_symbol=BOS_IDX).flatten()
        return tgt_tokens.tolist()

    return types.SimpleNamespace(Seq2SeqTransformer=Seq2SeqTransformer, collate_fn=collate_fn,
                                 train_epoch=train_epoch, translate=translate)


def test_seq2seq_transformer(torch):
    SRC_VOCAB_SIZE, TGT_VOCAB_SIZE = 13, 11
    rng = np.random.default_rng(3)
    pairs = [(rng.integers(4, SRC_VOCAB_SIZE, rng.integers(2, 7)).tolist(),
              rng.integers(4, TGT_VOCAB_SIZE, rng.integers(2, 7)).tolist()) for _ in range(6)]
    models, results = {}, {}
    for lib in (torch, gs):
        script = seq2seq(lib)
        torch.manual_seed(0)
        transformer = script.Seq2SeqTransformer(1, 1, 16, 2, SRC_VOCAB_SIZE, TGT_VOCAB_SIZE, dim_feedforward=32,
                                                dropout=0.0)
        for p in transformer.parameters():
            if p.dim() > 1:
                lib.nn.init.xavier_uniform_(p)
        if lib is gs:
            _load(transformer, initial)
        else:
            initial = _state(transformer)
        models[lib] = transformer
        loss_fn = lib.nn.CrossEntropyLoss(ignore_index=PAD_IDX)
        optimizer = lib.optim.Adam(transformer.parameters(), lr=0.001, betas=(0.9, 0.98), eps=1e-9)
        src, tgt = script.collate_fn(pairs[:3])
        assert src.dtype == lib.int64 and src.shape == (max(len(p[0]) for p in pairs[:3]) + 2, 3)
        losses = script.train_epoch(transformer, optimizer, loss_fn, pairs, BATCH_SIZE=3)
        losses += script.train_epoch(transformer, optimizer, loss_fn, pairs, BATCH_SIZE=3)
        results[lib] = losses, script.translate(transformer, pairs[0][0])
    (g_losses, g_tokens), (t_losses, t_tokens) = results[gs], results[torch]
    assert len(g_losses) == len(t_losses) == 4
    np.testing.assert_allclose(g_losses, t_losses, rtol=2e-5, atol=2e-5)
    assert g_tokens == t_tokens and g_tokens[0] == BOS_IDX
    # The key part of each in_proj_bias has a zero gradient in exact arithmetic (q·(k + b) shifts every score
    # of a query by the same q·b, which softmax ignores), so both libraries' gradients there are round-off
    # (~1e-9), which Adam with eps=1e-9 turns into steps of about lr: compare the rest exactly, that part by size.
    g, t = _state(models[gs]), _state(models[torch])
    for k in [k for k in t if k.endswith("in_proj_bias")]:
        key_part = slice(16, 32)
        steps = len(t_losses)
        assert np.abs(g[k][key_part]).max() <= steps * 0.001 * 1.01 >= np.abs(t[k][key_part]).max()
        g[k][key_part] = t[k][key_part] = 0
    for k in t:
        np.testing.assert_allclose(g[k], t[k], rtol=1e-4, atol=2e-5, err_msg=k)
