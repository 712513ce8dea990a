//! `apt deb=`: a `.deb` file (local, or a URL the host downloads) installed with dpkg when its
//! version is not the installed one, then its dependencies through apt-get.

use super::*;

/// `deb=`: a package file (or URL, fetched on the host first). Installed unless the same
/// version is installed already; apt-get installs it with its dependencies in one step, where
/// the module installs the dependencies with apt-get and then the file with dpkg -i.
pub(super) async fn install_deb(
    ctx: &ModuleCtx,
    p: &AptParams,
    deb: &str,
    dpkg_options: &str,
    simulate: &str,
) -> MapResult {
    let mut fetch = String::new();
    let files: Vec<String> = deb.split(',').map(String::from).collect();
    let mut paths = Vec::new();
    for (i, f) in files.iter().enumerate() {
        if f.contains("://") {
            // Downloads go to a private directory, removed when the script ends.
            if fetch.is_empty() {
                fetch.push_str(&hosttmp::private_dir("T", Place::Tmp, Cleanup::OnExit)?);
            }
            let local = format!("$T/{i}.deb");
            fetch.push_str(&format!(
                "curl -fsSL -o \"{local}\" {url} 2>/dev/null || wget -q -O \"{local}\" {url} || {{ echo FETCHFAIL={url}; exit 0; }}\n",
                url = shell_quote(f)
            ));
            paths.push(format!("\"{local}\""));
        } else {
            paths.push(shell_quote(f));
        }
    }
    let mut script = format!("{APT_ENV}\n{fetch}");
    script.push_str("todo=\n");
    for path in &paths {
        script.push_str(&format!(
            "f={path}; [ -e \"$f\" ] || {{ printf 'MISSING=%s\\n' \"$f\"; exit 0; }}\n\
             n=$(dpkg-deb -f \"$f\" Package); v=$(dpkg-deb -f \"$f\" Version)\n\
             iv=$(dpkg-query -W -f='${{db:Status-Status}} ${{Version}}' \"$n\" 2>/dev/null)\n\
             if [ \"$iv\" = \"installed $v\" ] || {{ [ \"${{iv#installed }}\" != \"$iv\" ] && dpkg --compare-versions \"${{iv#installed }}\" eq \"$v\"; }}; then :; else todo=\"$todo $(printf '%s' \"$f\" | sed 's/^/.\\//; s/^\\.\\/\\//\\//')\"; fi\n"
        ));
    }
    let cmd = format!(
        "{APT_GET} -y {dpkg_options} {} {simulate} install $todo",
        if p.force { "--force-yes" } else { "" }
    );
    script.push_str(&format!(
        "if [ -z \"$todo\" ]; then echo NOTHING=1; exit 0; fi\n{}; rc=$?\n{}\necho RC=$rc\n",
        with_policy_rc_d(p, &cmd)?,
        section("rc")
    ));
    let out = sysutil::run(ctx, &script).await?;
    let secs = sections(&out.stdout);
    let head = kv(&secs[""]);
    if let Some(url) = head.get("FETCHFAIL") {
        return Ok(sysutil::failed(
            format!("Failure downloading {url}"),
            vec![],
        ));
    }
    if let Some(f) = head.get("MISSING") {
        return Ok(sysutil::failed(
            format!(
                "Unable to install package: E:Could not open file {f} - open (2: No such file or directory)"
            ),
            vec![],
        ));
    }
    if head.contains_key("NOTHING") {
        return Ok(res(vec![
            ("changed", Value::from(false)),
            ("stdout", Value::from("")),
            ("stderr", Value::from("")),
            ("diff", Value::from("")),
        ]));
    }
    let rc: i32 = secs
        .get("rc")
        .and_then(|s| kv(s).get("RC").and_then(|r| r.parse().ok()))
        .unwrap_or(out.rc);
    let stdout = secs[""].clone();
    if rc != 0 {
        return Ok(sysutil::failed(
            format!(
                "dpkg --{} -i {} failed",
                p.dpkg_options.replace(',', " --"),
                deb.replace(',', " ")
            ),
            vec![
                ("stdout", Value::from(stdout)),
                ("stderr", Value::from(out.stderr)),
            ],
        ));
    }
    let mut r = res(vec![
        ("changed", Value::from(true)),
        ("stdout", Value::from(stdout.as_str())),
        ("stderr", Value::from(out.stderr.as_str())),
    ]);
    r.insert("diff".into(), parse_diff(&stdout));
    Ok(r)
}
