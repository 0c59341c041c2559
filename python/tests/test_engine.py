"""The engine from Python: a real index of the fixture corpus, the built-in encoder."""

import threading

import pytest

import mlsearch
from conftest import FIXTURES


def bakery_queries():
    lines = (FIXTURES / "bakery-queries.tsv").read_text(encoding="utf-8").splitlines()
    return [tuple(line.split("\t", 1)) for line in lines if line.strip()]


def test_index_reports_what_it_did(engine, corpus):
    stats = engine.stats()
    assert stats["files"] >= 42
    assert stats["vectors"] is not None
    assert {"de", "en", "zh", "ar", "hi"} <= set(stats["languages"])
    assert stats["root"] == str(corpus.resolve())


def test_search_finds_the_passage_in_any_language(engine):
    hits = engine.search("Where does the Danube rise?", lang="any", k=5)
    assert hits and hits[0].doc.startswith("parallel/danube.")
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    hits = engine.search("Wo entspringt die Donau?", lang="ja", k=3)
    assert hits[0].doc == "parallel/danube.ja.txt" and hits[0].lang == "ja"
    # The filter is not the query's language (issue 28).
    assert hits[0].query_lang != "ja"


def test_hits_carry_the_query_json_fields(engine):
    hit = engine.search("Danube rises", lang="en", explain=True, query_lang="en")[0]
    assert hit.doc == "parallel/danube.en.txt"
    assert hit.file == "parallel/danube.en.txt" and hit.passage == 0
    assert "Danube" in hit.snippet
    start, end = hit.highlights[0]
    assert hit.snippet[start:end] == "Danube"
    assert hit.explain is not None and hit.explain.bm25_rank == 1
    assert (hit.query_lang, hit.query_lang_confidence, hit.query_lang_source) == ("en", 1.0, "given")
    assert "danube.en.txt" in repr(hit)


def test_modes_and_bad_arguments(engine):
    for mode in ("bm25", "dense", "hybrid"):
        assert engine.search("Danube", mode=mode, k=3), mode
    with pytest.raises(ValueError, match="mode"):
        engine.search("Danube", mode="fuzzy")
    with pytest.raises(ValueError, match="invalid language"):
        engine.search("Danube", lang="klingon!")


def test_search_many_equals_one_at_a_time(engine):
    queries = bakery_queries()
    texts = [q for _, q in queries]
    batched = engine.search_many(texts, k=3)
    assert len(batched) == len(texts)
    for text, hits in zip(texts, batched):
        single = engine.search(text, k=3)
        assert [h.doc for h in hits] == [h.doc for h in single]
    right = sum(hits[0].doc.startswith("parallel/bakery.") for hits in batched)
    assert right >= len(texts) - 1, right


def test_threads_search_in_parallel(engine):
    queries = [q for _, q in bakery_queries()]
    expected = {q: engine.search(q, k=1)[0].doc for q in queries}
    found, errors = {}, []

    def work(chunk):
        try:
            for q in chunk:
                found[q] = engine.search(q, k=1)[0].doc
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(queries[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and found == expected


def test_documents_added_and_removed_from_code(tmp_path):
    engine = mlsearch.Engine.create(tmp_path / "idx")
    assert engine.add({"id": "note-1", "text": "Le boulanger pétrit la pâte à l'aube.", "lang": "fr"}) == 1
    assert engine.add([
        {"id": "note-2", "text": "Der Bäcker knetet den Teig früh am Morgen."},
        {"id": "note-3", "text": "The lighthouse keeper left the island in 1998."},
    ]) == 2
    assert engine.search("Bäcker") == []  # nothing is visible before the commit
    report = engine.commit()
    assert report["added"] == 3 and report["generation"] >= 2
    assert engine.search("Bäcker")[0].doc == "note-2"
    assert engine.search("baker kneading dough", lang="fr", mode="dense")[0].doc == "note-1"
    engine.remove("note-2")
    assert engine.commit()["removed"] == 1
    assert all(h.doc != "note-2" for h in engine.search("Bäcker Teig"))
    with pytest.raises(ValueError, match="id"):
        engine.add({"text": "no id"})
    # Reopened from disk, the documents are there.
    again = mlsearch.Engine.open(tmp_path / "idx")
    assert again.search("lighthouse")[0].doc == "note-3"


def test_errors_are_exceptions_with_the_cli_message(tmp_path):
    with pytest.raises(mlsearch.MlsearchError, match="no index"):
        mlsearch.Engine.open(tmp_path / "missing")
    index = tmp_path / "idx"
    mlsearch.Engine.create(index, vectors=False)
    with pytest.raises(mlsearch.MlsearchError, match="already exists"):
        mlsearch.Engine.create(index)
    manifest = index / "manifest.json"
    manifest.write_text(manifest.read_text()[:40])
    with pytest.raises(mlsearch.MlsearchError) as damaged:
        mlsearch.Engine.open(index)
    assert "manifest" in str(damaged.value)


def test_a_bm25_only_index(tmp_path, corpus):
    engine = mlsearch.Engine.create(tmp_path / "idx", vectors=False)
    report = engine.index(corpus / "parallel", threads=1)
    assert report["committed"] and report["passages_embedded"] == 0
    assert engine.stats()["vectors"] is None
    assert engine.search("Donau Wien", lang="de")[0].doc == "danube.de.txt"
