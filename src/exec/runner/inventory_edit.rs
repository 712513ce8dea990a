//! The inventory changes a module asks for (`add_host`, `group_by`), applied as
//! ansible-core's strategy applies them.

use super::*;

/// Applies the inventory changes a module asked for (add_host, group_by), as ansible-core's
/// strategy does (`_add_host`, `_add_group`): hosts and groups are created as needed; whether
/// the inventory changed.
pub(super) fn apply_inventory(
    store: &VarStore,
    changes: &[InventoryChange],
) -> Result<bool, String> {
    let result = store.update_inventory(|inv| edit_inventory(inv, changes));
    if result.is_ok() {
        // Kept, to be made again if `meta: refresh_inventory` reads the sources afresh.
        let kept = changes.to_vec();
        store.keep_inventory_edit(Arc::new(move |inv| {
            let _ = edit_inventory(inv, &kept);
        }));
    }
    result
}

pub(super) fn edit_inventory(
    inv: &mut crate::inventory::Inventory,
    changes: &[InventoryChange],
) -> Result<bool, String> {
    let mut changed = false;
    for change in changes {
        match change {
            InventoryChange::AddHost { name, groups, vars } => {
                if !inv.hosts.contains_key(name) {
                    inv.add_host_in(name, Some("all"), None)?;
                    changed = true;
                }
                for (k, v) in vars {
                    if inv.hosts[name].vars.get(k) != Some(v) {
                        // Templated arguments: data, not text the user wrote.
                        inv.set_host_var(name, k, value::untrusted(v.clone()));
                        changed = true;
                    }
                }
                for g in groups {
                    if !inv.groups.contains_key(g) {
                        inv.add_group(g)?;
                        changed = true;
                    }
                    if !inv.hosts[name].groups.contains(g) {
                        inv.add_host_in(name, Some(g), None)?;
                        changed = true;
                    }
                }
            }
            InventoryChange::AddGroup {
                host,
                group,
                parents,
            } => {
                inv.add_group(group)?;
                for p in parents {
                    if !inv.groups.contains_key(p) {
                        inv.add_group(p)?;
                        changed = true;
                    }
                }
                for p in parents {
                    if !inv.groups[p].children.contains(group) {
                        inv.add_child(p, group).map_err(|e| e.to_string())?;
                        changed = true;
                    }
                }
                if inv.hosts.contains_key(host) && !inv.hosts[host].groups.contains(group) {
                    inv.add_host_in(host, Some(group), None)?;
                    changed = true;
                }
            }
        }
    }
    // group_vars/ and host_vars/ files of the new groups and hosts apply from now on.
    inv.load_vars_of_new_names().map_err(|e| e.to_string())?;
    Ok(changed)
}
