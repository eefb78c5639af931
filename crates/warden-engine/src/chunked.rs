//! A table of small `Copy` entries in fixed-size chunks, each behind its own
//! `Arc`: a revision that changes a few entries copies those chunks (16 KiB
//! of user slots each) and the chunk list, and shares the rest with the
//! revision it came from. One flat `Arc<[T]>` made every patched revision
//! copy the whole table (1.6 MiB of user slots at D365 size, per write),
//! which bounded write throughput and churned the allocator.

use std::sync::Arc;

/// Entries per chunk, as a power of two so that an index splits with a shift and a mask.
const CHUNK_BITS: u32 = 10;
const CHUNK: usize = 1 << CHUNK_BITS;
const MASK: usize = CHUNK - 1;

#[derive(Clone)]
pub(crate) struct Chunked<T: Copy> {
    chunks: Arc<[Arc<[T; CHUNK]>]>,
    len: usize,
    /// What the unused tail of the last chunk holds.
    fill: T,
}

impl<T: Copy> std::fmt::Debug for Chunked<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chunked").field("len", &self.len).field("chunks", &self.chunks.len()).finish()
    }
}

impl<T: Copy> Chunked<T> {
    pub(crate) fn from_vec(items: Vec<T>, fill: T) -> Chunked<T> {
        let chunks = items
            .chunks(CHUNK)
            .map(|part| {
                let mut chunk = Arc::new([fill; CHUNK]);
                Arc::get_mut(&mut chunk).expect("a new chunk is not shared")[..part.len()].copy_from_slice(part);
                chunk
            })
            .collect();
        Chunked { chunks, len: items.len(), fill }
    }

    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<&T> {
        if i >= self.len {
            return None;
        }
        self.chunks.get(i >> CHUNK_BITS).map(|c| &c[i & MASK])
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// A copy to change: the chunks it writes are copied on first write.
    pub(crate) fn edit(&self) -> ChunkedEdit<T> {
        ChunkedEdit { chunks: self.chunks.to_vec(), len: self.len, fill: self.fill }
    }
}

pub(crate) struct ChunkedEdit<T: Copy> {
    chunks: Vec<Arc<[T; CHUNK]>>,
    len: usize,
    fill: T,
}

impl<T: Copy> ChunkedEdit<T> {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Entry `i`; `i` must be below [`ChunkedEdit::len`].
    pub(crate) fn get(&self, i: usize) -> T {
        assert!(i < self.len, "entry {i} of {}", self.len);
        self.chunks[i >> CHUNK_BITS][i & MASK]
    }

    pub(crate) fn set(&mut self, i: usize, value: T) {
        assert!(i < self.len, "entry {i} of {}", self.len);
        Arc::make_mut(&mut self.chunks[i >> CHUNK_BITS])[i & MASK] = value;
    }

    pub(crate) fn push(&mut self, value: T) {
        if self.len == self.chunks.len() * CHUNK {
            self.chunks.push(Arc::new([self.fill; CHUNK]));
        }
        self.len += 1;
        self.set(self.len - 1, value);
    }

    pub(crate) fn finish(self) -> Chunked<T> {
        Chunked { chunks: self.chunks.into(), len: self.len, fill: self.fill }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edit_copies_only_the_chunks_it_writes() {
        let n = 3 * CHUNK + 5;
        let table = Chunked::from_vec((0..n as u32).collect(), u32::MAX);
        assert_eq!(table.len(), n);
        assert_eq!(table.get(n - 1), Some(&(n as u32 - 1)));
        assert_eq!(table.get(n), None, "the fill past the end is not an entry");
        let mut edit = table.edit();
        edit.set(CHUNK + 7, 42);
        edit.push(7);
        let next = edit.finish();
        assert_eq!(next.get(CHUNK + 7), Some(&42));
        assert_eq!(table.get(CHUNK + 7), Some(&(CHUNK as u32 + 7)), "the old revision is unchanged");
        assert_eq!(next.get(n), Some(&7));
        assert_eq!(next.len(), n + 1);
        // Four chunks: the second and the last were written, the other two are shared.
        let shared = next.chunks.iter().zip(table.chunks.iter()).filter(|(a, b)| Arc::ptr_eq(a, b)).count();
        assert_eq!((next.chunks.len(), shared), (4, 2));
        // Pushing past a full chunk starts a new one.
        let mut edit = Chunked::from_vec(vec![1u8; CHUNK], 0).edit();
        edit.push(2);
        let grown = edit.finish();
        assert_eq!((grown.len(), grown.get(CHUNK)), (CHUNK + 1, Some(&2)));
    }
}
