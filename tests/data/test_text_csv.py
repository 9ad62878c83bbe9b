"""Character-level text dataset and CSV tabular dataset, including their error messages."""
import numpy as np
import pytest

from gradstep.data import DataLoader, datasets


@pytest.fixture
def textfile(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("hello world, héllo gradstep!\n" * 5, encoding="utf-8")
    return p


def test_text_vocab_windows_and_roundtrip(textfile):
    content = textfile.read_text(encoding="utf-8")
    ds = datasets.text(textfile, block_size=8, split="all")
    assert ds.vocab == sorted(set(content)) and ds.vocab_size == len(set(content))
    assert ds.decode(ds.encode(content)) == content
    assert len(ds) == len(content) - 8
    x, y = ds[3]
    assert x.dtype == np.int64 and x.shape == (8,)
    assert ds.decode(x) == content[3:11] and ds.decode(y) == content[4:12]
    xb, yb = ds.get_batch(np.array([0, 10, 3]))
    assert xb.shape == (3, 8) and np.array_equal(xb.numpy()[2], x.numpy()) and np.array_equal(yb.numpy()[:, :-1], xb.numpy()[:, 1:])
    xb, yb = next(iter(DataLoader(ds, batch_size=4, shuffle=True, seed=0)))
    assert xb.shape == (4, 8) and yb.dtype == np.int64


def test_text_train_val_split_by_position(textfile):
    content = textfile.read_text(encoding="utf-8")
    train = datasets.text(textfile, block_size=4, split="train", val_fraction=0.2)
    val = datasets.text(textfile, block_size=4, split="val", val_fraction=0.2)
    cut = round(len(content) * 0.8)
    assert train.decode(train.ids) == content[:cut] and val.decode(val.ids) == content[cut:]
    assert train.vocab == val.vocab  # one vocabulary for both


def test_text_errors(tmp_path, textfile):
    with pytest.raises(FileNotFoundError, match="text: no such file: .*missing.txt"):
        datasets.text(tmp_path / "missing.txt")
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(ValueError, match="empty.txt is empty"):
        datasets.text(tmp_path / "empty.txt")
    (tmp_path / "bin.txt").write_bytes(b"ok\xff\xfe")
    with pytest.raises(ValueError, match="not valid utf-8 .byte 2.; pass encoding"):
        datasets.text(tmp_path / "bin.txt")
    with pytest.raises(ValueError, match="fewer than block_size"):
        datasets.text(textfile, block_size=10_000)
    ds = datasets.text(textfile, block_size=4)
    with pytest.raises(ValueError, match="character 'Z' is not in the vocabulary"):
        ds.encode("heZ")


def _write(tmp_path, text, name="data.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_csv_classification_with_string_labels(tmp_path):
    p = _write(tmp_path, "a,b,species\n1,2.5,setosa\n3,4,virginica\n\n5,6,setosa\n")
    ds = datasets.csv(p, target="species")
    x, y = ds.arrays
    assert x.dtype == np.float32 and x.tolist() == [[1, 2.5], [3, 4], [5, 6]]
    assert y.dtype == np.int64 and y.tolist() == [0, 1, 0]
    assert ds.classes == ["setosa", "virginica"] and ds.num_classes == 2 and ds.task == "classification"
    assert ds.feature_names == ["a", "b"] and ds.target_name == "species" and ds.input_shape == (2,)


def test_csv_numeric_labels_and_regression(tmp_path):
    p = _write(tmp_path, "label,x1,x2\n10,0,1\n9,1,1\n10.0,2,2\n")
    ds = datasets.csv(p, target=0)
    assert ds.task == "classification" and ds.classes == ["9", "10"] and ds.arrays[1].tolist() == [1, 0, 1]
    p = _write(tmp_path, "x,price\n1,1.5\n2,2.25\n", "reg.csv")
    reg = datasets.csv(p)  # last column, auto -> regression
    assert reg.task == "regression" and reg.arrays[1].dtype == np.float32 and reg.arrays[1].shape == (2, 1)
    assert reg.arrays[1][:, 0].tolist() == [1.5, 2.25]
    forced = datasets.csv(_write(tmp_path, "x,y\n1,2\n3,4\n", "f.csv"), task="regression")
    assert forced.arrays[1].tolist() == [[2.0], [4.0]]
    sub = datasets.csv(_write(tmp_path, "a,b,c,y\n1,2,3,0\n4,5,6,1\n", "s.csv"), features=["c", "a"])
    assert sub.arrays[0].tolist() == [[3, 1], [6, 4]]


def test_csv_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="csv: no such file"):
        datasets.csv(tmp_path / "none.csv")
    p = _write(tmp_path, "a,b,y\n1,2,0\n3,oops,1\n")
    with pytest.raises(ValueError, match=r"csv: .*data.csv, line 3, column 'b': 'oops' is not a number"):
        datasets.csv(p)
    p = _write(tmp_path, "a,b,y\n1,,0\n", "m.csv")
    with pytest.raises(ValueError, match=r"m.csv, line 2, column 'b': missing value"):
        datasets.csv(p)
    p = _write(tmp_path, "a,b,y\n1,2,0\n", "n.csv")
    with pytest.raises(ValueError, match=r"n.csv has no column 'label' \(columns: a, b, y\)"):
        datasets.csv(p, target="label")
    with pytest.raises(ValueError, match="target column index 5 is out of range for 3 columns"):
        datasets.csv(p, target=5)
    p = _write(tmp_path, "a,b,y\n1,2,0\n1,2\n", "r.csv")
    with pytest.raises(ValueError, match=r"r.csv, line 3: 2 fields, but the header has 3"):
        datasets.csv(p)
    p = _write(tmp_path, "a,b,y\n1,2,\n", "l.csv")
    with pytest.raises(ValueError, match=r"l.csv, line 2, column 'y': missing label"):
        datasets.csv(p)
    p = _write(tmp_path, "a,y\n1,cat\n", "t.csv")
    with pytest.raises(ValueError, match=r"t.csv, line 2, column 'y': 'cat' is not a number"):
        datasets.csv(p, task="regression")
    with pytest.raises(ValueError, match="is empty"):
        datasets.csv(_write(tmp_path, "", "e.csv"))
    with pytest.raises(ValueError, match="has a header but no data rows"):
        datasets.csv(_write(tmp_path, "a,y\n", "h.csv"))
    with pytest.raises(ValueError) as info:
        datasets.csv(_write(tmp_path, "a,y\nx,1\n", "o.csv"))
    assert "\n" not in str(info.value)  # one line
