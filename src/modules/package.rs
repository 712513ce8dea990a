//! `package`: the generic package module. Like ansible-core's action plugin it picks the
//! host's package manager module (`use`, else `ansible_package_use`, else the `pkg_mgr` fact,
//! else a one-line probe of the host) and runs it with the same arguments.

use super::sysutil;
use super::{Args, Module, ModuleCtx, ModuleError, ModuleResult, Param, Spec};
use crate::connection::BoxFuture;

pub struct Package;

/// The package manager names the `pkg_mgr` fact can take, probed in setup's order.
pub const PROBE: &str = "for m in apt-get dnf5 dnf yum zypper apk pacman; do if command -v $m >/dev/null 2>&1; then echo $m; exit 0; fi; done";

/// The `pkg_mgr` fact's value for a probed program.
pub fn pkg_mgr_of(program: &str) -> &str {
    match program {
        "apt-get" => "apt",
        "" => "unknown",
        other => other,
    }
}

static SPEC: Spec = Spec {
    names: &["package"],
    // The package manager's module checks the arguments.
    open: true,
    params: &[&[Param::any("use")]],
    ..Spec::BASE
};

impl Module for Package {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn run<'a>(&'a self, args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        Box::pin(async move {
            let mut values = args.into_values();
            let used = values
                .shift_remove("use")
                .map(|v| v.to_string())
                .filter(|v| v != "auto");
            let var = ctx
                .vars
                .get_attr("ansible_package_use")
                .ok()
                .filter(|v| !v.is_undefined() && !v.is_none())
                .map(|v| v.to_string());
            let module = match used.or(var).or_else(|| sysutil::fact(ctx, "pkg_mgr")) {
                Some(m) => m,
                None => {
                    let out = sysutil::run(ctx, PROBE).await?;
                    pkg_mgr_of(out.stdout.trim()).to_string()
                }
            };
            if module == "unknown" {
                return Err(ModuleError::Failed(
                    "Could not detect which package manager to use. Try gathering facts or setting the \"use\" option.".into(),
                ));
            }
            let Some(found) = super::resolve(&module) else {
                return Err(ModuleError::Failed(format!(
                    "Could not find a matching action for the \"{module}\" package manager."
                )));
            };
            super::invoke(found, values, ctx).await
        })
    }
}
