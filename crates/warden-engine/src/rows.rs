//! Each entry point's grant row (the roles that grant or deny something on
//! it), packed into cache lines and addressed by a handle that says where the
//! row is and how long it is.
//!
//! The handle is the [`EntryPointId`](crate::EntryPointId) that callers hold,
//! so a check finds the row without reading anything first: the row's lines
//! and the user's slot are fetched in parallel, and a row of up to 64 roles
//! costs no dependent miss. Rows of up to 16 roles share lines (best fit) and
//! never cross one; longer rows take whole lines of their own.

/// A role grant packs the role id above the permission bits: `role << 12 | deny << 6 | allow`.
pub(crate) const ROLE_SHIFT: u32 = 12;
const PERMISSION_BITS: u32 = (1 << ROLE_SHIFT) - 1;
const _: () = assert!(warden_model::MAX_ROLES <= 1 << (31 - ROLE_SHIFT), "packed grants stay below 2^31");

/// The handle of an entry point that no role grants or denies anything on.
pub(crate) const NO_GRANTS: u32 = u32::MAX;
/// With this bit, a handle is an index in `long_rows`; without it,
/// `line << LINE_SHIFT | start << START_SHIFT | (len - 1)`.
const LONG: u32 = 1 << 31;
const START_SHIFT: u32 = 6;
const LINE_SHIFT: u32 = 10;
/// Rows up to this long live in lines; longer ones are binary-searched.
const LINE_ROW_MAX: usize = 64;
const WORDS: usize = 16;

/// Sixteen grants in one cache line, roles apart from their bits, so that one
/// vector compare tests eight places against a role.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
pub(crate) struct Line {
    /// [`NO_ROLE`] in unused places.
    roles: [u16; WORDS],
    /// `deny << 6 | allow`.
    bits: [u16; WORDS],
}

/// An unused place in a [`Line`]. Rows with a role id this high or higher are
/// kept [`Row::Sorted`] instead.
const NO_ROLE: u16 = u16::MAX;
const EMPTY_LINE: Line = Line { roles: [NO_ROLE; WORDS], bits: [0; WORDS] };

/// A row as the check sees it.
pub(crate) enum Row<'a> {
    /// Nothing is granted or denied on the entry point (or the handle is foreign).
    None,
    /// A row of up to 16 roles in a line it may share with other rows: the
    /// line's bits outside the row's places are cleared in `bits`.
    Line { line: &'a Line, bits: [u16; WORDS] },
    /// A row of 17 to 64 roles, in lines of its own.
    Lines(&'a [Line]),
    /// Sorted by role, packed `role << ROLE_SHIFT | bits`.
    Sorted(&'a [u32]),
}

impl Row<'_> {
    /// The permission bits (`deny << 6 | allow`) that `role` sets; 0 if none.
    #[inline(always)]
    pub(crate) fn bits(&self, role: u32) -> u32 {
        let short = u16::try_from(role).unwrap_or(NO_ROLE);
        match self {
            Row::None => 0,
            Row::Line { line, bits } => line_bits(&line.roles, bits, short),
            Row::Lines(lines) => lines.iter().fold(0, |acc, line| acc | line_bits(&line.roles, &line.bits, short)),
            Row::Sorted(row) => row.binary_search_by_key(&role, |g| g >> ROLE_SHIFT).map_or(0, |i| row[i] & PERMISSION_BITS),
        }
    }
}

/// The bits that `role` sets among sixteen places, without a branch (a
/// mispredicted one would wait for the line). Kept out of line on purpose:
/// alone, the compiler makes it two vector compares and a few ands and ors;
/// inlined next to the other roles' calls, it interleaves them into scalar
/// shuffles that cost several times more.
#[inline(never)]
fn line_bits(roles: &[u16; WORDS], bits: &[u16; WORDS], role: u16) -> u32 {
    // Unused places hold NO_ROLE with no bits, so asking for NO_ROLE gives 0.
    let mut acc = 0u16;
    for (&r, &b) in roles.iter().zip(bits) {
        acc |= b & u16::from(r == role).wrapping_neg();
    }
    u32::from(acc)
}

/// Every entry point's row.
#[derive(Debug, Clone, Default)]
pub(crate) struct GrantRows {
    lines: Vec<Line>,
    long: Vec<u32>,
    /// `(offset in long, length)` of each long row.
    long_rows: Vec<(u32, u32)>,
}

impl GrantRows {
    /// Packs `rows` (each sorted by role) and returns the handle of each.
    pub(crate) fn build(rows: &[Vec<u32>]) -> (GrantRows, Vec<u32>) {
        let mut packer = Packer { packed: GrantRows::default(), open: Default::default() };
        let handles = packer.place_all(rows);
        (packer.packed, handles)
    }

    /// These rows with `rows` (each sorted by role) added after them, and the
    /// handle of each new row: a revision that changes a few rows appends them
    /// and re-points their entry points, and the rows it replaces stay behind,
    /// unused, until the next build (see [`GrantRows::places`]). New short rows
    /// share only new lines, so every line an existing handle points at is
    /// left as it was.
    pub(crate) fn with_rows(&self, rows: &[Vec<u32>]) -> (GrantRows, Vec<u32>) {
        let mut packer = Packer { packed: self.clone(), open: Default::default() };
        let handles = packer.place_all(rows);
        (packer.packed, handles)
    }

    /// The grants of the row `handle` refers to, packed, sorted by role.
    pub(crate) fn read(&self, handle: u32) -> Vec<u32> {
        if handle == NO_GRANTS {
            return Vec::new();
        }
        if handle & LONG != 0 {
            return match self.long_rows.get((handle & !LONG) as usize) {
                Some(&(at, len)) => self.long.get(at as usize..(at + len) as usize).map_or_else(Vec::new, <[u32]>::to_vec),
                None => Vec::new(),
            };
        }
        let line = (handle >> LINE_SHIFT) as usize;
        let len = (handle & 0x3F) as usize + 1;
        let start = if len > WORDS { 0 } else { ((handle >> START_SHIFT) & 0xF) as usize };
        let Some(lines) = self.lines.get(line..line + (start + len).div_ceil(WORDS)) else { return Vec::new() };
        (start..start + len).map(|k| u32::from(lines[k / WORDS].roles[k % WORDS]) << ROLE_SHIFT | u32::from(lines[k / WORDS].bits[k % WORDS])).collect()
    }

    /// Places that rows take or took: lines' places and long rows' grants.
    pub(crate) fn places(&self) -> usize {
        self.lines.len() * WORDS + self.long.len()
    }

    /// The row that `handle` refers to. Reads nothing but the handle, so the
    /// CPU can fetch the row's lines at once.
    #[inline]
    pub(crate) fn row(&self, handle: u32) -> Row<'_> {
        if handle == NO_GRANTS {
            return Row::None;
        }
        if handle & LONG != 0 {
            return match self.long_rows.get((handle & !LONG) as usize) {
                Some(&(at, len)) => self.long.get(at as usize..(at + len) as usize).map_or(Row::None, Row::Sorted),
                None => Row::None,
            };
        }
        let line = (handle >> LINE_SHIFT) as usize;
        let len = (handle & 0x3F) as usize + 1;
        if len > WORDS {
            return self.lines.get(line..line + len.div_ceil(WORDS)).map_or(Row::None, Row::Lines);
        }
        let Some(line) = self.lines.get(line) else { return Row::None };
        let start = ((handle >> START_SHIFT) & 0xF) as usize;
        let mut bits = line.bits;
        for (i, b) in bits.iter_mut().enumerate() {
            *b &= u16::from((start..start + len).contains(&i)).wrapping_neg();
        }
        Row::Line { line, bits }
    }

    pub(crate) fn bytes(&self) -> usize {
        self.lines.len() * std::mem::size_of::<Line>() + self.long.len() * 4 + self.long_rows.len() * 8
    }
}

/// Places rows into a [`GrantRows`]: long rows first, then the shorter ones
/// by decreasing length, each into the fullest line (of those this packer
/// opened) that still has room for it.
struct Packer {
    packed: GrantRows,
    /// Lines with room left, by how many places are free.
    open: [Vec<usize>; WORDS],
}

impl Packer {
    /// Places every non-empty row; the handle of each ([`NO_GRANTS`] for an empty one).
    fn place_all(&mut self, rows: &[Vec<u32>]) -> Vec<u32> {
        let mut handles = vec![NO_GRANTS; rows.len()];
        let mut order: Vec<usize> = (0..rows.len()).filter(|&i| !rows[i].is_empty()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(rows[i].len()));
        for i in order {
            handles[i] = self.place(&rows[i]);
        }
        handles
    }

    fn place(&mut self, row: &[u32]) -> u32 {
        let line_handle = |line: usize, start: usize, len: usize| -> Option<u32> {
            let line = u32::try_from(line).ok().filter(|&l| l < 1 << (31 - LINE_SHIFT))?;
            Some(line << LINE_SHIFT | (start as u32) << START_SHIFT | (len as u32 - 1))
        };
        let packed = &mut self.packed;
        let len = row.len();
        let fits_lines = row.iter().all(|&g| g >> ROLE_SHIFT < u32::from(NO_ROLE));
        let placed = if !fits_lines {
            None
        } else if len <= WORDS {
            let (line, start) = match (len..WORDS).find(|&free| !self.open[free].is_empty()) {
                Some(free) => (self.open[free].pop().expect("non-empty"), WORDS - free),
                None => {
                    packed.lines.push(EMPTY_LINE);
                    (packed.lines.len() - 1, 0)
                }
            };
            put(&mut packed.lines[line], start, row);
            if start + len < WORDS {
                self.open[WORDS - start - len].push(line);
            }
            line_handle(line, start, len)
        } else if len <= LINE_ROW_MAX {
            let first = packed.lines.len();
            for chunk in row.chunks(WORDS) {
                let mut line = EMPTY_LINE;
                put(&mut line, 0, chunk);
                packed.lines.push(line);
            }
            line_handle(first, 0, len)
        } else {
            None
        };
        match placed {
            Some(handle) => handle,
            None => {
                let at = u32::try_from(packed.long.len()).expect("fewer than 2^32 grants");
                packed.long.extend_from_slice(row);
                packed.long_rows.push((at, len as u32));
                u32::try_from(packed.long_rows.len() - 1).ok().filter(|&i| i < LONG - 1).expect("fewer than 2^31 long rows") | LONG
            }
        }
    }
}

/// Writes packed grants into a line from place `start`.
fn put(line: &mut Line, start: usize, grants: &[u32]) {
    for (k, &g) in grants.iter().enumerate() {
        line.roles[start + k] = (g >> ROLE_SHIFT) as u16;
        line.bits[start + k] = (g & PERMISSION_BITS) as u16;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(role: u32, bits: u32) -> u32 {
        role << ROLE_SHIFT | bits
    }

    #[test]
    fn every_row_reads_back_whatever_its_length_and_place() {
        // Lengths around every boundary: one line, two lines, the line limit, long rows.
        let lengths = [0, 1, 3, 15, 16, 17, 31, 32, 33, 64, 65, 200, 1, 2, 5, 7, 11, 13];
        let rows: Vec<Vec<u32>> =
            lengths.iter().enumerate().map(|(i, &len)| (0..len as u32).map(|k| grant(k * 3 + i as u32 % 3, (k + i as u32) % 4095 + 1)).collect()).collect();
        let (packed, handles) = GrantRows::build(&rows);
        for (i, row) in rows.iter().enumerate() {
            let view = packed.row(handles[i]);
            for role in 0..700 {
                let expected = row.iter().find(|&&g| g >> ROLE_SHIFT == role).map_or(0, |g| g & PERMISSION_BITS);
                assert_eq!(view.bits(role), expected, "row {i} (length {}), role {role}", row.len());
            }
        }
        assert_eq!(handles[0], NO_GRANTS);
        assert!(matches!(packed.row(handles[11]), Row::Sorted(_)), "a row over 64 is sorted");
        // Short rows share lines: 1+3+15+16+1+2+5+7+11+13 = 74 places fit in 5 lines;
        // rows of 17, 31, 32, 33 and 64 take 2+2+2+3+4 lines of their own.
        assert_eq!(packed.lines.len(), 5 + 13);
    }

    #[test]
    fn rows_read_back_and_appended_rows_leave_the_others_alone() {
        let row = |len: usize, salt: u32| -> Vec<u32> { (0..len as u32).map(|k| grant(k * 5 + salt, (k + salt) % 4095 + 1)).collect() };
        let lengths = [0, 1, 3, 15, 16, 17, 31, 64, 65, 2, 9];
        let rows: Vec<Vec<u32>> = lengths.iter().enumerate().map(|(i, &len)| row(len, i as u32)).collect();
        let (packed, handles) = GrantRows::build(&rows);
        for (i, r) in rows.iter().enumerate() {
            assert_eq!(&packed.read(handles[i]), r, "row {i}");
        }
        let more: Vec<Vec<u32>> = [2, 0, 20, 70, 16, 1, 7].iter().enumerate().map(|(i, &len)| row(len, 100 + i as u32)).collect();
        let (next, added) = packed.with_rows(&more);
        for (i, r) in more.iter().enumerate() {
            assert_eq!(&next.read(added[i]), r, "new row {i}");
            for role in 0..600 {
                let expected = r.iter().find(|&&g| g >> ROLE_SHIFT == role).map_or(0, |g| g & PERMISSION_BITS);
                assert_eq!(next.row(added[i]).bits(role), expected, "new row {i}, role {role}");
            }
        }
        assert_eq!(added[1], NO_GRANTS, "an empty row has no grants");
        // Every old handle reads the same row in the new table, from lines left as they were.
        for (i, r) in rows.iter().enumerate() {
            assert_eq!(&next.read(handles[i]), r, "old row {i} in the new table");
        }
        assert!(next.lines[..packed.lines.len()].iter().zip(&packed.lines).all(|(a, b)| a.roles == b.roles && a.bits == b.bits));
        // 2+20+70+16+1+7 grants: the 70 long, 20 in two lines, 16, 7+2+1 sharing one.
        assert_eq!(next.places() - packed.places(), 70 + 2 * WORDS + WORDS + WORDS);
    }

    #[test]
    fn rows_with_roles_past_u16_are_sorted_and_still_answer() {
        let rows = vec![vec![grant(3, 1), grant(0xFFFF, 2), grant(0x7FFFF, 4)], vec![grant(3, 8)]];
        let (packed, handles) = GrantRows::build(&rows);
        let wide = packed.row(handles[0]);
        assert!(matches!(wide, Row::Sorted(_)));
        assert_eq!((wide.bits(3), wide.bits(0xFFFF), wide.bits(0x7FFFF), wide.bits(4)), (1, 2, 4, 0));
        assert_eq!(packed.row(handles[1]).bits(3), 8);
        assert_eq!(packed.row(handles[1]).bits(u32::MAX), 0);
    }

    #[test]
    fn foreign_handles_read_nothing() {
        let (packed, _) = GrantRows::build(&[vec![grant(1, 1)]]);
        for handle in [NO_GRANTS, 5 << LINE_SHIFT, LONG | 7, 0x3F] {
            assert_eq!(packed.row(handle).bits(1), 0, "{handle:#x}");
        }
    }
}
