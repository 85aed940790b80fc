//! The hub's groups: the clients subscribed to exactly the same symbols in the same encoding,
//! who are sent the same frames. A member knows its position in its group, so joining and
//! leaving cost O(1) however large the group (leaving moves the last member into the place);
//! a group is dropped with its last member.

use std::{
    collections::{HashMap, hash_map::Entry},
    sync::Arc,
};

use tokio::sync::mpsc;

use super::{ClientId, Encoding, Outbound};
use crate::universe::SymbolId;

/// One client in a group: its id and queue, kept together so that a fan-out needs no lookup.
#[derive(Debug)]
pub(super) struct Member {
    pub(super) client: ClientId,
    pub(super) outbox: mpsc::Sender<Outbound>,
}

/// Identifies a [`Group`].
pub(super) type GroupId = u64;

/// Where a client is: its group and its position in the group's member list.
pub(super) type Membership = (GroupId, usize);

/// The clients subscribed to exactly the same symbols in the same encoding: they are sent the
/// same frames.
#[derive(Debug)]
pub(super) struct Group {
    pub(super) encoding: Encoding,
    /// The subscribed symbols, sorted.
    pub(super) symbols: Arc<[SymbolId]>,
    pub(super) members: Vec<Member>,
}

impl Group {
    /// Appends to `out` the group's symbols that are in `touched` (sorted). Linear merge: a
    /// group usually covers many of the touched symbols, or all of them.
    pub(super) fn covered(&self, touched: &[SymbolId], out: &mut Vec<SymbolId>) {
        let (a, b) = (&self.symbols, touched);
        let (mut i, mut j) = (0, 0);
        while i < a.len() && j < b.len() {
            match a[i].cmp(&b[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    out.push(a[i]);
                    i += 1;
                    j += 1;
                }
            }
        }
    }
}

/// Every group, and each subscription set's group.
#[derive(Debug, Default)]
pub(super) struct Groups {
    by_id: HashMap<GroupId, Group>,
    by_key: HashMap<(Encoding, Arc<[SymbolId]>), GroupId>,
    next_id: GroupId,
    /// Groups whose clients take binary frames: without any, ticks are not encoded in binary.
    binary_groups: usize,
}

impl Groups {
    /// Every group, in no particular order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &Group> {
        self.by_id.values()
    }

    /// How many groups there are.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether any group takes binary frames.
    pub(super) fn any_binary(&self) -> bool {
        self.binary_groups > 0
    }

    /// The symbols of the group at `membership` (none outside any group).
    pub(super) fn symbols_of(&self, membership: Option<Membership>) -> Arc<[SymbolId]> {
        membership.map_or_else(
            || Arc::from([]),
            |(group, _)| self.by_id[&group].symbols.clone(),
        )
    }

    /// Adds `client` (with its `encoding` and `outbox`) to the group for `symbols` (sorted,
    /// deduplicated), creating it if needed. Returns the client's place; none for no symbols.
    pub(super) fn join(
        &mut self,
        client: ClientId,
        encoding: Encoding,
        outbox: &mpsc::Sender<Outbound>,
        symbols: Arc<[SymbolId]>,
    ) -> Option<Membership> {
        if symbols.is_empty() {
            return None;
        }
        let id = match self.by_key.entry((encoding, symbols.clone())) {
            Entry::Occupied(existing) => *existing.get(),
            Entry::Vacant(vacant) => {
                let id = self.next_id;
                self.next_id += 1;
                vacant.insert(id);
                self.binary_groups += usize::from(encoding == Encoding::Binary);
                self.by_id.insert(
                    id,
                    Group {
                        encoding,
                        symbols,
                        members: Vec::new(),
                    },
                );
                id
            }
        };
        let members = &mut self.by_id.get_mut(&id).expect("indexed above").members;
        let position = members.len();
        members.push(Member {
            client,
            outbox: outbox.clone(),
        });
        Some((id, position))
    }

    /// Takes the member at `membership` out of its group, dropping the group when it empties.
    /// Returns the member that moved into the vacated position and its new place, which the
    /// caller must record.
    pub(super) fn leave(&mut self, membership: Membership) -> Option<(ClientId, Membership)> {
        let (id, position) = membership;
        let group = self.by_id.get_mut(&id)?;
        group.members.swap_remove(position);
        if group.members.is_empty() {
            let group = self.by_id.remove(&id).expect("present above");
            self.binary_groups -= usize::from(group.encoding == Encoding::Binary);
            self.by_key.remove(&(group.encoding, group.symbols));
            return None;
        }
        group
            .members
            .get(position)
            .map(|moved| (moved.client, (id, position)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ids: &[usize]) -> Arc<[SymbolId]> {
        ids.iter().map(|&i| SymbolId(i)).collect()
    }

    #[test]
    fn the_last_member_moves_into_a_vacated_place_and_an_empty_group_is_dropped() {
        let mut groups = Groups::default();
        let (outbox, _queue) = mpsc::channel(1);
        let places: Vec<Membership> = (0..3)
            .map(|client| {
                let place = groups.join(client, Encoding::Json, &outbox, set(&[0, 1]));
                place.expect("a place")
            })
            .collect();
        assert!(places.iter().all(|&(group, _)| group == places[0].0));
        assert_eq!(groups.leave(places[0]), Some((2, (places[0].0, 0))));
        assert_eq!(groups.len(), 1);
        let binary = groups.join(9, Encoding::Binary, &outbox, set(&[0, 1]));
        assert_ne!(binary.map(|(group, _)| group), Some(places[0].0));
        assert!(groups.any_binary());
        assert_eq!(groups.leave(binary.expect("a place")), None);
        assert!(!groups.any_binary(), "the binary group is gone");
        assert_eq!(groups.leave((places[0].0, 1)), None, "the last one moved");
        assert_eq!(groups.leave((places[0].0, 0)), None);
        assert_eq!((groups.len(), groups.by_key.len()), (0, 0));
        assert_eq!(groups.join(1, Encoding::Json, &outbox, set(&[])), None);
    }

    #[test]
    fn a_group_covers_its_symbols_among_those_touched() {
        let mut groups = Groups::default();
        let (outbox, _queue) = mpsc::channel(1);
        groups.join(1, Encoding::Json, &outbox, set(&[1, 3, 5, 7]));
        let group = groups.iter().next().expect("one group");
        let mut out = Vec::new();
        group.covered(&[0, 3, 4, 5, 8].map(SymbolId), &mut out);
        assert_eq!(out, [SymbolId(3), SymbolId(5)]);
        assert_eq!(groups.symbols_of(None).len(), 0);
    }
}
