//! Every passage key's document address and language, read once from the fast fields.
//! Hybrid search needs the language of each of its ~200 candidates; looking each dense
//! candidate up with a term query and opening the language column per look-up took about
//! half of a hybrid search's time (2.5 of 5.4 ms on the 100k index). Keys are dense (the
//! manifest hands them out in order), so the table is two vectors indexed by key: 10
//! bytes a passage.

use std::collections::HashMap;

use tantivy::DocAddress;

/// Addresses and languages by passage key.
pub struct PassageTable {
    /// `segment << 32 | doc` by key, [`NONE`] for keys without a passage.
    slots: Vec<u64>,
    /// Index into `names` by key.
    langs: Vec<u16>,
    names: Vec<String>,
}

const NONE: u64 = u64::MAX;

impl PassageTable {
    /// Reads the table of `searcher`'s passages whose keys are below `next_key`; `None`
    /// when the keys are too sparse (a damaged index: a look-up per key is used then).
    pub fn read(searcher: &tantivy::Searcher, next_key: u64) -> tantivy::Result<Option<PassageTable>> {
        let passages = searcher.num_docs();
        if next_key > passages.saturating_mul(16).saturating_add(1 << 20) {
            return Ok(None);
        }
        let mut table = PassageTable {
            slots: vec![NONE; next_key as usize],
            langs: vec![0; next_key as usize],
            names: Vec::new(),
        };
        let mut ids: HashMap<String, u16> = HashMap::new();
        for (segment_ord, segment) in searcher.segment_readers().iter().enumerate() {
            let keys = segment.fast_fields().u64("key")?;
            let column = segment.fast_fields().str("lang")?;
            // This segment's language ordinals, as table ids.
            let mut ord_ids = Vec::new();
            if let Some(column) = &column {
                for ord in 0..column.num_terms() as u64 {
                    let mut name = String::new();
                    column.ord_to_str(ord, &mut name)?;
                    ord_ids.push(table.intern(&mut ids, name));
                }
            }
            let unknown = table.intern(&mut ids, String::new());
            for doc in segment.doc_ids_alive() {
                let Some(key) = keys.first(doc).filter(|k| *k < next_key) else {
                    continue;
                };
                table.slots[key as usize] = (segment_ord as u64) << 32 | u64::from(doc);
                table.langs[key as usize] = column
                    .as_ref()
                    .and_then(|c| c.term_ords(doc).next())
                    .and_then(|ord| ord_ids.get(ord as usize).copied())
                    .unwrap_or(unknown);
            }
        }
        Ok(Some(table))
    }

    /// The document and language of `key`, if it has a passage.
    pub fn get(&self, key: u64) -> Option<(DocAddress, &str)> {
        let slot = *self.slots.get(usize::try_from(key).ok()?)?;
        if slot == NONE {
            return None;
        }
        let address = DocAddress::new((slot >> 32) as u32, slot as u32);
        Some((address, &self.names[usize::from(self.langs[key as usize])]))
    }

    fn intern(&mut self, ids: &mut HashMap<String, u16>, name: String) -> u16 {
        if let Some(id) = ids.get(&name) {
            return *id;
        }
        let id = self.names.len() as u16;
        self.names.push(name.clone());
        ids.insert(name, id);
        id
    }
}
