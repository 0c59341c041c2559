//! PDF, DOCX, ODT and EPUB files (fixtures/formats, made by scripts/make_format_fixtures.py)
//! are indexed and found by their words in English, German and Chinese; a PDF hit says its
//! page; a scanned PDF is reported and skipped; ignore files and globs choose the files.

use std::fs;

use crate::util::{copy_tree, fixture, Workspace};

#[test]
fn office_formats_and_pdf_pages_are_found_by_their_words() {
    let ws = Workspace::new();
    let run = ws.index_ok(&fixture("formats"));
    assert!(
        run.stdout.contains("12 added") && run.stdout.contains("1 skipped"),
        "{run:?}"
    );
    assert!(
        run.stderr
            .contains("scanned.pdf: skipped: PDF without a text layer (1 page, no text: a scan?)"),
        "{run:?}"
    );
    let top = |query: &str| {
        ws.hits(&["--mode", "bm25", "-k", "1", query])
            .into_iter()
            .next()
            .unwrap_or_default()
    };
    for (query, file, page, lang) in [
        ("Skerryvore logbook", "lighthouse-en.pdf", Some(1), "en"),
        ("granite tower reef", "lighthouse-en.pdf", Some(2), "en"),
        ("Elbe Brücke", "lighthouse-de.pdf", Some(2), "de"),
        ("花岗岩塔楼", "lighthouse-zh.pdf", Some(2), "zh"),
        ("灯塔 风暴", "lighthouse-zh.pdf", Some(1), "zh"),
        ("sourdough wood-fired oven", "bakery-en.docx", None, "en"),
        ("Roggenbrot Holzofen", "bakery-de.docx", None, "de"),
        ("黑麦酸面包", "bakery-zh.docx", None, "zh"),
        ("night train Inverness", "train-en.odt", None, "en"),
        ("Nachtzug Gleis", "train-de.odt", None, "de"),
        ("哈尔滨 夜车", "train-zh.odt", None, "zh"),
        ("glasshouse melons", "garden-en.epub", None, "en"),
        ("Gewächshaus Melonen", "garden-de.epub", None, "de"),
        ("温室 甜瓜", "garden-zh.epub", None, "zh"),
    ] {
        let hit = top(query);
        assert_eq!(hit["file"], file, "{query}: {hit}");
        assert_eq!(hit["lang"], lang, "{query}: {hit}");
        assert_eq!(hit["page"].as_u64(), page.map(|p: u64| p), "{query}: {hit}");
    }
    // Titles come from the documents' metadata.
    assert_eq!(top("Roggenbrot")["title"], "Testdokument");
    assert_eq!(top("黑麦")["title"], "测试文档");
    // The text view names the page.
    let run = ws.run(&["query", "--mode", "bm25", "-k", "1", "Elbe Brücke"]);
    assert!(run.stdout.contains("lighthouse-de.pdf #1 p. 2 [de]"), "{run:?}");
}

#[test]
fn damaged_office_files_are_reported_by_name_and_skipped() {
    let ws = Workspace::new();
    let corpus = ws.path().join("corpus");
    copy_tree(&fixture("formats"), &corpus);
    let pdf = fs::read(corpus.join("lighthouse-en.pdf")).unwrap();
    fs::write(corpus.join("cut.pdf"), &pdf[..pdf.len() / 3]).unwrap();
    let docx = fs::read(corpus.join("bakery-en.docx")).unwrap();
    fs::write(corpus.join("cut.docx"), &docx[..docx.len() / 2]).unwrap();
    fs::write(corpus.join("fake.epub"), "not a zip at all").unwrap();
    fs::write(corpus.join("fake.odt"), b"PK\x03\x04\x00\x00").unwrap();
    let run = ws.index_ok(&corpus);
    for name in ["cut.pdf", "cut.docx", "fake.epub", "fake.odt"] {
        assert!(run.stderr.contains(&format!("{name}: skipped: ")), "{name}: {run:?}");
    }
    assert!(
        run.stderr.contains("fake.epub: skipped: not a readable EPUB file"),
        "{run:?}"
    );
    assert!(
        run.stdout.contains("12 added") && run.stdout.contains("5 skipped"),
        "{run:?}"
    );
    assert_eq!(
        ws.hits(&["--mode", "bm25", "Skerryvore"])[0]["file"],
        "lighthouse-en.pdf"
    );
}

#[test]
fn ignore_files_hidden_files_and_globs_choose_what_is_indexed() {
    let ws = Workspace::new();
    let corpus = ws.path().join("corpus");
    let write = |name: &str, text: &str| {
        let path = corpus.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    };
    write(".gitignore", "node_modules/\ntarget/\n*.tmp.md\n");
    write("notes/otters.md", "Otters hold hands while they sleep.");
    write("notes/draft.tmp.md", "Walruses use their tusks to climb onto the ice.");
    write(
        "node_modules/pkg/readme.md",
        "Narwhals are toothed whales of the Arctic.",
    );
    write("target/debug/out.txt", "Beluga whales moult every summer in estuaries.");
    write(".cache/page.html", "<p>Puffins nest in burrows on cliff tops.</p>");
    write("private/.mlsearchignore", "*\n");
    write("private/diary.txt", "Seals sleep floating upright in the water.");
    let run = ws.index_ok(&corpus);
    assert!(run.stdout.contains("1 added"), "{run:?}");
    assert!(
        run.stdout
            .contains("ignored: hidden 1 folder + 2 files, .mlsearchignore 1 file, .gitignore 2 folders + 1 file"),
        "{run:?}"
    );
    assert!(ws.hits(&["--mode", "bm25", "narwhals"]).is_empty());
    assert_eq!(ws.hits(&["--mode", "bm25", "otters"])[0]["file"], "notes/otters.md");

    // A file that becomes ignored leaves the index; --no-ignore and --hidden take all.
    let run = ws.run(&["index", corpus.to_str().unwrap(), "--no-ignore", "--hidden"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("5 added") && run.stdout.contains("1 unchanged"),
        "{run:?}"
    );
    assert_eq!(
        ws.hits(&["--mode", "bm25", "narwhals"])[0]["file"],
        "node_modules/pkg/readme.md"
    );
    // Globs decide before ignore files: `*.md` takes the gitignored draft back.
    let run = ws.run(&[
        "index",
        corpus.to_str().unwrap(),
        "--glob",
        "*.md",
        "--glob",
        "!otters.md",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("5 removed") && run.stdout.contains("1 unchanged"),
        "{run:?}"
    );
    assert_eq!(ws.hits(&["--mode", "bm25", "walruses"]).len(), 1);
    assert!(ws.hits(&["--mode", "bm25", "otters"]).is_empty());
}

/// Damaged copies of every fixture (bytes flipped, cut, inserted): each is indexed or
/// reported by name, none panics aloud or stops the run.
#[test]
fn hundreds_of_damaged_documents_are_each_indexed_or_reported() {
    let ws = Workspace::new();
    let corpus = ws.path().join("damaged");
    fs::create_dir_all(&corpus).unwrap();
    let mut originals: Vec<_> = fs::read_dir(fixture("formats"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    originals.sort();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let copies = 400;
    for i in 0..copies {
        let original = &originals[i % originals.len()];
        let mut bytes = fs::read(original).unwrap();
        for _ in 0..1 + next(8) {
            let at = next(bytes.len());
            match next(4) {
                0 => bytes[at] = next(256) as u8,
                1 => {
                    bytes.drain(at..(at + 1 + next(40)).min(bytes.len()));
                }
                2 => bytes
                    .splice(at..at, (0..1 + next(16)).map(|_| next(256) as u8))
                    .for_each(drop),
                _ => bytes.truncate(at.max(1)),
            }
            if bytes.is_empty() {
                bytes.push(b'x');
            }
        }
        let ext = original.extension().unwrap().to_str().unwrap();
        fs::write(corpus.join(format!("m{i:03}.{ext}")), bytes).unwrap();
    }
    let run = ws.index_ok(&corpus);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(!run.stderr.contains("internal error"), "{}", run.stderr);
    let skipped = run.stderr.lines().filter(|l| l.contains(": skipped: ")).count();
    let added: usize = run
        .stdout
        .split(" added")
        .next()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(added + skipped, copies, "{run:?}");
}
