//! Keys of objects whose key joins several names.

/// The key of the assignment of `role` to `user` (see [`crate::join_key`]).
pub fn assignment_key(user: &str, role: &str) -> String {
    crate::join_key(&[user, role])
}
