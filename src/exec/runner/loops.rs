//! A task's `loop:` / `with_<lookup>:` items, as ansible-core computes them.

use super::*;

impl HostJob {
    pub(super) fn loop_items(
        &self,
        kind: &str,
        raw: &Value,
        scope: &Value,
    ) -> Result<Vec<Value>, Error> {
        // The items are templating's results (and a lookup's data): each is data from here on,
        // and `{{ item }}` never renders what an item holds.
        self.loop_items_raw(kind, raw, scope)
            .map(|items| items.into_iter().map(value::untrusted).collect())
    }

    pub(super) fn loop_items_raw(
        &self,
        kind: &str,
        raw: &Value,
        scope: &Value,
    ) -> Result<Vec<Value>, Error> {
        let v = template::render_value(raw, scope)?;
        let invalid = |v: &Value| {
            Error::new(
                crate::diagnostics::ErrorKind::Template,
                format!(
                    "Invalid data passed to 'loop', it requires a list, got this instead: {v}. Hint: If you passed a list/dict of just one element, try adding wantlist=True to your lookup invocation or use q/query instead of lookup."
                ),
            )
            .at(&self.task.span)
        };
        match kind {
            "loop" | "list" => match v.kind() {
                // Iterable: a lazily computed sequence (a slice `l[:n]`, `a + b`).
                ValueKind::Seq | ValueKind::Iterable => {
                    Ok(v.try_iter().map(|i| i.collect()).unwrap_or_default())
                }
                _ => Err(invalid(&v)),
            },
            "items" => {
                let top: Vec<Value> = match v.kind() {
                    ValueKind::Seq => v.try_iter().map(|i| i.collect()).unwrap_or_default(),
                    ValueKind::None | ValueKind::Undefined => Vec::new(),
                    _ => vec![v],
                };
                let mut out = Vec::new();
                for i in top {
                    if i.kind() == ValueKind::Seq {
                        out.extend(
                            i.try_iter()
                                .map(|it| it.collect::<Vec<_>>())
                                .unwrap_or_default(),
                        );
                    } else {
                        out.push(i);
                    }
                }
                Ok(out)
            }
            "dict" => {
                if v.kind() != ValueKind::Map {
                    return Err(Error::new(
                        crate::diagnostics::ErrorKind::Template,
                        format!("with_dict expects a dict, got {v}"),
                    )
                    .at(&self.task.span));
                }
                Ok(v.try_iter()
                    .map(|keys| {
                        keys.map(|k| {
                            let val = v.get_item(&k).unwrap_or_default();
                            value::map([("key", k), ("value", val)])
                        })
                        .collect()
                    })
                    .unwrap_or_default())
            }
            "indexed_items" => Ok(v
                .try_iter()
                .map(|it| {
                    it.enumerate()
                        .map(|(i, x)| Value::from(vec![Value::from(i), x]))
                        .collect()
                })
                .unwrap_or_default()),
            // Every other `with_<lookup>` is the lookup's list of results.
            other => {
                let v = crate::template::lookups::loop_items(other, &v, &self.task.action, scope)
                    .map_err(|e| e.at(&self.task.span))?;
                Ok(v.try_iter().map(|i| i.collect()).unwrap_or_default())
            }
        }
    }
}
