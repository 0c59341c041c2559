"""The encoder from Python: numpy arrays, the same vectors as the CLI's `embed`."""

import json
import os
import subprocess

import numpy as np
import pytest

import mlsearch
from conftest import cli_binary


def test_vectors_are_float32_unit_rows(encoder):
    texts = ["Wo liegt Berlin?", "Where is Berlin?", "ベルリンはどこですか"]
    q = encoder.encode_queries(texts)
    p = encoder.encode_passages(texts)
    assert q.dtype == np.float32 and q.shape == (3, encoder.dim) == p.shape
    assert np.allclose(np.linalg.norm(q, axis=1), 1, atol=1e-3)
    assert not np.allclose(q, p)  # "query: " and "passage: " prefixes differ
    assert encoder.encode_queries([]).shape == (0, encoder.dim)
    assert encoder.precision == "int8" and "e5" in encoder.model


def test_translations_are_closer_than_other_texts(encoder):
    v = encoder.encode_passages([
        "The baker kneads the dough early in the morning.",
        "Der Bäcker knetet den Teig früh am Morgen.",
        "The Danube flows into the Black Sea.",
    ])
    assert v[0] @ v[1] > v[0] @ v[2] + 0.1


def test_int8_matches_f32(encoder):
    texts = ["Der Bäcker knetet den Teig.", "图书馆在哪里？"]
    f32 = mlsearch.Encoder(precision="f32")
    assert f32.precision == "f32"
    cos = np.sum(encoder.encode_passages(texts) * f32.encode_passages(texts), axis=1)
    assert np.all(cos > 0.99), cos


def test_same_vectors_as_the_cli(encoder):
    binary = cli_binary()
    if binary is None:
        pytest.skip("no mlsearch binary built to compare with (cargo build)")
    text = "Wann knetet der Bäcker den Teig?"
    out = subprocess.run([str(binary), "embed", "--query"], input=text, capture_output=True,
                         text=True, check=True, env={k: v for k, v in os.environ.items() if k != "MLSEARCH_MODEL"})
    cli = np.array(json.loads(out.stdout.splitlines()[0]), dtype=np.float32)
    assert float(cli @ encoder.encode_queries([text])[0]) > 0.9999


def test_bad_model_is_an_error():
    with pytest.raises(mlsearch.MlsearchError):
        mlsearch.Encoder("/nonexistent/model.gguf")
    with pytest.raises(ValueError, match="precision"):
        mlsearch.Encoder(precision="int4")
