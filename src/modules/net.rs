//! `get_url` and `uri`: HTTP from the host, as Ansible's modules do it (the request starts on
//! the target, not the controller, so firewalls and DNS are the target's).
//!
//! Targets have no Python, so the request is made by `curl` on the host; a host without curl
//! fails the task with a message saying so (Debian minimal images lack it: `apt-get install
//! curl`). One command per task: the request, the checksum checks and the atomic move into
//! place for `get_url`; the request with its response headers and body for `uri`. Results
//! carry Ansible's keys (`status`, `msg` "OK (N bytes)", response headers as lowercase keys
//! with `_`, `json`, `content`; `status_code`, `checksum_src`, `checksum_dest`, `md5sum`...).

use super::fileutil::{self, Attrs, Report};
use super::hosttmp::{self, Cleanup, Place};
use super::{
    Args, MapResult, Module, ModuleCtx, ModuleError, ModuleResult, Param, Spec, shell_quote,
};
use crate::connection::BoxFuture;
use crate::value::{Value, Vars};
use minijinja::value::ValueKind;
use std::time::Instant;

pub struct GetUrl;
pub struct Uri;

static GET_URL: Spec = Spec {
    names: &["get_url"],
    params: &[
        REQUEST,
        &[
            Param::str("dest").required(),
            Param::str("checksum"),
            Param::bool("force").default_bool(false),
            Param::bool("backup").default_bool(false),
            Param::str("tmp_dest"),
            Param::str("sha256sum"),
        ],
        fileutil::ATTRS,
    ],
    ..Spec::BASE
};

static URI: Spec = Spec {
    names: &["uri"],
    params: &[
        REQUEST,
        &[
            Param::str("method").default_str("GET"),
            Param::any("body"),
            Param::str("body_format")
                .choices(&["form-urlencoded", "json", "raw", "form-multipart"])
                .default_str("raw"),
            Param::list("status_code"),
            Param::bool("return_content").default_bool(false),
            Param::str("follow_redirects").default_str("safe"),
        ],
    ],
    ..Spec::BASE
};

impl Module for GetUrl {
    fn spec(&self) -> &'static Spec {
        &GET_URL
    }

    fn run<'a>(&'a self, args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        super::from_map(async move { fileutil::with_details(get_url(args, ctx).await) })
    }
}

impl Module for Uri {
    fn spec(&self) -> &'static Spec {
        &URI
    }

    fn run<'a>(&'a self, args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        super::from_map(uri(args, ctx))
    }
}

/// Fails the script when the host has no curl.
const NEED_CURL: &str = r#"command -v curl >/dev/null 2>&1 || die "MODULE needs curl on the host (baton makes HTTP requests there with curl, as Ansible makes them there with Python); install curl on the host"
"#;

/// The request options both modules share ([`Request::read`]).
const REQUEST: &[Param] = &[
    Param::str("url").required(),
    Param::any("headers"),
    Param::int("timeout"),
    Param::bool("validate_certs").default_bool(true),
    Param::str("url_username"),
    Param::str("url_password").no_log(),
    Param::bool("force_basic_auth"),
    Param::bool("use_proxy"),
    Param::str("http_agent"),
    Param::bool("use_gssapi"),
    Param::bool("use_netrc"),
    Param::str("client_cert"),
    Param::str("client_key"),
    Param::str("ca_path"),
    Param::list("unredirected_headers"),
    Param::list("ciphers"),
    Param::bool("decompress"),
];

/// Request options both modules share.
struct Request {
    url: String,
    headers: Vec<(String, String)>,
    timeout: i64,
    validate_certs: bool,
    user: Option<String>,
    password: Option<String>,
    follow: bool,
}

impl Request {
    fn read(args: &mut Args, default_timeout: i64) -> Result<Request, ModuleError> {
        let url = args.required_str("url")?;
        let headers = match args.raw("headers") {
            None => Vec::new(),
            Some(h) if h.kind() == ValueKind::Map => h
                .try_iter()
                .map(|keys| {
                    keys.map(|k| {
                        let v = h.get_item(&k).unwrap_or_default();
                        (
                            k.to_string(),
                            v.as_str().map_or(v.to_string(), String::from),
                        )
                    })
                    .collect()
                })
                .unwrap_or_default(),
            Some(h) => {
                return Err(ModuleError::Failed(format!(
                    "argument 'headers' is of type {} and we were unable to convert to dict",
                    super::python_type(&h)
                )));
            }
        };
        let timeout = args.int("timeout")?.unwrap_or(default_timeout);
        let validate_certs = args.bool("validate_certs")?.unwrap_or(true);
        let user = args.str("url_username")?;
        let password = args.str("url_password")?;
        let _ = args.bool("force_basic_auth")?;
        let _ = args.bool("use_proxy")?;
        let _ = args.str("http_agent")?;
        let _ = args.bool("use_gssapi")?;
        let _ = args.bool("use_netrc")?;
        let _ = args.str("client_cert")?;
        let _ = args.str("client_key")?;
        let _ = args.str("ca_path")?;
        let _ = args.list("unredirected_headers")?;
        let _ = args.list("ciphers")?;
        let _ = args.bool("decompress")?;
        Ok(Request {
            url,
            headers,
            timeout,
            validate_certs,
            user,
            password,
            follow: true,
        })
    }

    /// curl's options (without the output options), as a curl config file (`curl -K FILE`):
    /// the URL, headers and credentials are module arguments and may be secrets, so they
    /// never go on curl's command line, where every local user of the host could read them.
    fn curl_config(&self, method: Option<&str>) -> String {
        let mut c = format!("silent\nshow-error\nmax-time = {}\n", self.timeout.max(1));
        if self.follow {
            c.push_str("location\nmax-redirs = 50\n");
        }
        if !self.validate_certs {
            c.push_str("insecure\n");
        }
        if let Some(m) = method {
            c.push_str(&format!("request = {}\n", curl_quote(m)));
        }
        for (k, v) in &self.headers {
            c.push_str(&format!("header = {}\n", curl_quote(&format!("{k}: {v}"))));
        }
        if let Some(u) = &self.user {
            c.push_str(&format!(
                "user = {}\n",
                curl_quote(&format!("{u}:{}", self.password.as_deref().unwrap_or("")))
            ));
        }
        c.push_str(&format!("url = {}\n", curl_quote(&self.url)));
        c
    }
}

/// A parameter in a curl config file: double-quoted, with curl's escapes for `\\`, `"` and
/// control characters.
fn curl_quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '\\' => q.push_str("\\\\"),
            '"' => q.push_str("\\\""),
            '\n' => q.push_str("\\n"),
            '\r' => q.push_str("\\r"),
            '\t' => q.push_str("\\t"),
            '\x0b' => q.push_str("\\v"),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// The response's header block (the last one when redirects were followed): the status
/// line's reason phrase and the headers as Ansible names them (`content_type`).
fn parse_headers(block: &str) -> (String, Vec<(String, String)>) {
    let blocks: Vec<&str> = block
        .split("\r\n\r\n")
        .filter(|b| b.trim_start().starts_with("HTTP/"))
        .collect();
    let last = blocks.last().copied().unwrap_or("");
    let mut lines = last.lines();
    let reason = lines
        .next()
        .map(|l| l.splitn(3, ' ').nth(2).unwrap_or("").trim().to_string())
        .unwrap_or_default();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| {
            (
                k.trim().to_lowercase().replace('-', "_"),
                v.trim().to_string(),
            )
        })
        .collect();
    (reason, headers)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

async fn get_url(mut args: Args, ctx: &ModuleCtx) -> MapResult {
    let mut req = Request::read(&mut args, 10)?;
    let dest = args.required_str("dest")?;
    let checksum = args.str("checksum")?.unwrap_or_default();
    let force = args.bool("force")?.unwrap_or(false);
    let backup = args.bool("backup")?.unwrap_or(false);
    let _ = args.str("tmp_dest")?;
    let _ = args.str("sha256sum")?;
    let attrs = Attrs::from_args(&mut args)?;
    req.follow = true;
    let (algo, want) = if checksum.is_empty() {
        (String::new(), String::new())
    } else {
        let (a, w) = checksum.split_once(':').ok_or_else(|| {
            ModuleError::Failed(
                "The checksum parameter has to be in format <algorithm>:<checksum>".into(),
            )
        })?;
        if w.starts_with("http://") || w.starts_with("https://") || w.starts_with("file://") {
            return Err(ModuleError::Failed(
                "checksum from a URL is not supported by baton yet; give the checksum itself"
                    .into(),
            ));
        }
        let prog = match a {
            "md5" | "sha1" | "sha224" | "sha256" | "sha384" | "sha512" => format!("{a}sum"),
            other => {
                return Err(ModuleError::Failed(format!(
                    "Unsupported hash algorithm: {other}"
                )));
            }
        };
        (prog, w.to_lowercase())
    };
    let name = req
        .url
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty() && !req.url.ends_with("//"))
        .unwrap_or("index.html")
        .to_string();

    let mut script = attrs.shell_vars(ctx.check_mode);
    script.push_str(&NEED_CURL.replace("MODULE", "get_url"));
    script.push_str(&format!(
        "D={}; CURLCFG={}; NAME={}; ALGO={}; WANT={}; FORCE={}; BACKUP={}\n",
        shell_quote(&dest),
        shell_quote(&req.curl_config(None)),
        shell_quote(&name),
        shell_quote(&algo),
        shell_quote(&want),
        force as u8,
        backup as u8
    ));
    script.push_str(
        r#"[ -d "$D" ] && D="$D/$NAME"
R dest "$D"
if [ -n "$ALGO" ] && [ -f "$D" ] && [ "$FORCE" != 1 ]; then
  cur=$($ALGO < "$D" | cut -d' ' -f1)
  if [ "$cur" = "$WANT" ]; then R exists 1; attrs "$D"; [ "$ch" = 1 ] && R changed 1; info "$D"; exit 0; fi
fi
dd=$(dirname -- "$D")
[ -d "$dd" ] || { R nodir "$dd"; exit 0; }
# The download goes to a private directory beside the destination (see hosttmp), with curl's
# options (URL, headers, credentials) in a file there rather than on its command line; the
# script works inside it by relative names until the download is renamed into place.
case $D in /*) aD=$D ;; *) aD=$PWD/$D ;; esac
here=$PWD
@PRIVATE_DIR@t=$PWD/f
printf '%s' "$CURLCFG" > c
if [ -e "$aD" ] && [ "$FORCE" != 1 ]; then set -- -z "$aD"; else set --; fi
w=$(curl -K c "$@" -o f -D h -w '%{http_code}' 2>e); crc=$?
R status "$w"; R crc "$crc"; R err "$(head -c 2000 e | tr '\n' ' ')"
printf 'BATON\theaders\t%s\n' "$(base64 -w0 < h)"
[ "$crc" = 0 ] || exit 0
case $w in
  304) T_done; trap - EXIT; cd -- "$here" 2>/dev/null || cd /; info "$D"; exit 0 ;;
  2??) ;;
  *) exit 0 ;;
esac
R tmp "$t"
R size "$(stat -c %s -- f)"
src=$(sha1sum < f | cut -c1-40); R sum_src "$src"; R md5 "$(md5sum < f | cut -c1-32)"
if [ -n "$ALGO" ]; then
  got=$($ALGO < f | cut -d' ' -f1)
  [ "$got" = "$WANT" ] || { R badsum "$got"; exit 0; }
fi
cur=; [ -f "$aD" ] && cur=$(sha1sum < "$aD" | cut -c1-40); R sum_dest "$cur"
if [ "$cur" != "$src" ]; then
  R changed 1
  if [ "$CHECK" != 1 ]; then
    if [ -e "$aD" ]; then
      chmod "$(stat -L -c %a -- "$aD")" f; chown "$(stat -L -c %u:%g -- "$aD")" f 2>/dev/null
      if [ "$BACKUP" = 1 ]; then
        bk="$D.$$.$(date +%Y-%m-%d@%H:%M:%S~)"; case $bk in /*) abk=$bk ;; *) abk=$here/$bk ;; esac
        cp -p -- "$aD" b && mv -T -- b "$abk" && R backup "$bk"
      fi
    else chmod "$(printf %o $((0666 & ~0$(umask))))" f; fi
    mv -T -- f "$aD" || die "cannot move the download to $D"
  fi
fi
T_done; trap - EXIT
cd -- "$here" 2>/dev/null || cd /
[ -e "$D" ] && attrs "$D"
[ "$ch" = 1 ] && R changed 1
info "$D"
"#,
    );
    let script = script.replace(
        "@PRIVATE_DIR@",
        &hosttmp::private_dir("T", Place::Beside("\"$dd\""), Cleanup::OnExit)?,
    );
    let start = Instant::now();
    let report = fileutil::run_script(ctx, &script).await?;
    let elapsed = start.elapsed().as_secs();
    let dest = report.get("dest").unwrap_or(&dest).to_string();
    let changed = report.flag("changed");
    let base = |r: &mut Vars| {
        r.insert("dest".into(), Value::from(dest.as_str()));
        r.insert("url".into(), Value::from(req.url.as_str()));
    };
    if let Some(dir) = report.get("nodir") {
        // Ansible checks the directory after its (empty) download attempt.
        let mut r = fileutil::failed(
            format!("Destination {dir} does not exist"),
            [
                ("checksum_dest", Value::from(())),
                (
                    "checksum_src",
                    Value::from("da39a3ee5e6b4b0d3255bfef95601890afd80709"),
                ),
            ],
        );
        base(&mut r);
        return Ok(r);
    }
    if report.flag("exists") {
        let mut r = Vars::new();
        r.insert("changed".into(), Value::from(changed));
        r.insert("checksum_dest".into(), Value::from(()));
        r.insert("checksum_src".into(), Value::from(()));
        report.add_path_info(&mut r);
        if report.get("info").is_some() {
            r.insert("state".into(), Value::from("file"));
        }
        base(&mut r);
        r.insert(
            "msg".into(),
            Value::from(if changed {
                "file already exists but file attributes changed"
            } else {
                "file already exists"
            }),
        );
        return Ok(r);
    }
    let headers_text = report
        .get("headers")
        .and_then(crate::template::filters::b64decode)
        .map(|b| super::text(&b))
        .unwrap_or_default();
    let (reason, headers) = parse_headers(&headers_text);
    let status: i64 = report
        .get("status")
        .and_then(|s| s.parse().ok())
        .unwrap_or(-1);
    if report.get("crc") != Some("0") {
        let err = report.get("err").unwrap_or("").trim().to_string();
        let mut r = fileutil::failed(
            format!("Request failed: {err}"),
            [
                ("status_code", Value::from(-1)),
                ("elapsed", Value::from(elapsed)),
            ],
        );
        base(&mut r);
        return Ok(r);
    }
    let mut r = Vars::new();
    if status == 304 {
        r.insert("changed".into(), Value::from(false));
        base(&mut r);
        r.insert("elapsed".into(), Value::from(elapsed));
        r.insert("msg".into(), Value::from("HTTP Error 304: Not Modified"));
        r.insert("status_code".into(), Value::from(304));
        report.add_path_info(&mut r);
        r.insert("state".into(), Value::from("file"));
        return Ok(r);
    }
    if !(200..300).contains(&status) {
        let mut r = fileutil::failed(
            "Request failed",
            [
                ("status_code", Value::from(status)),
                (
                    "response",
                    Value::from(format!("HTTP Error {status}: {reason}")),
                ),
                ("elapsed", Value::from(elapsed)),
            ],
        );
        base(&mut r);
        return Ok(r);
    }
    let tmp = report.get("tmp").unwrap_or("").to_string();
    let sum_src = report.get("sum_src").unwrap_or("").to_string();
    let sum_dest = report
        .get("sum_dest")
        .filter(|s| !s.is_empty())
        .map_or(Value::from(()), Value::from);
    if let Some(got) = report.get("badsum") {
        let mut r = fileutil::failed(
            format!("The checksum for {tmp} did not match {want}; it was {got}."),
            [
                ("checksum_dest", sum_dest),
                ("checksum_src", Value::from(sum_src)),
                ("elapsed", Value::from(elapsed)),
                ("src", Value::from(tmp)),
            ],
        );
        base(&mut r);
        return Ok(r);
    }
    r.insert("changed".into(), Value::from(changed));
    r.insert("checksum_dest".into(), sum_dest);
    r.insert("checksum_src".into(), Value::from(sum_src));
    base(&mut r);
    r.insert("elapsed".into(), Value::from(elapsed));
    r.insert(
        "md5sum".into(),
        Value::from(report.get("md5").unwrap_or("")),
    );
    r.insert(
        "msg".into(),
        Value::from(format!(
            "OK ({} bytes)",
            header(&headers, "content_length").unwrap_or("unknown")
        )),
    );
    r.insert("src".into(), Value::from(tmp));
    r.insert("status_code".into(), Value::from(status));
    if let Some(b) = report.get("backup") {
        r.insert("backup_file".into(), Value::from(b));
    }
    report.add_path_info(&mut r);
    if report.get("info").is_some() {
        r.insert("state".into(), Value::from("file"));
    }
    Ok(r)
}

/// Python's repr of the accepted status codes, for the failure message (`[200, 201]`).
fn codes_repr(codes: &[i64]) -> String {
    let items: Vec<String> = codes.iter().map(i64::to_string).collect();
    format!("[{}]", items.join(", "))
}

async fn uri(mut args: Args, ctx: &ModuleCtx) -> MapResult {
    let mut req = Request::read(&mut args, 30)?;
    let method = args
        .str("method")?
        .unwrap_or_else(|| "GET".into())
        .to_uppercase();
    let body = args.raw("body");
    let body_format = args.str("body_format")?.unwrap_or_else(|| "raw".into());
    let codes = match args.list("status_code")? {
        None => vec![200],
        Some(items) => items
            .iter()
            .map(|v| {
                v.as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                    .ok_or_else(|| {
                        ModuleError::Failed(format!(
                            "Elements value for option 'status_code' is of type {} and we were unable to convert to int",
                            super::python_type(v)
                        ))
                    })
            })
            .collect::<Result<Vec<i64>, _>>()?,
    };
    let return_content = args.bool("return_content")?.unwrap_or(false);
    let follow_redirects = args
        .str("follow_redirects")?
        .unwrap_or_else(|| "safe".into());
    if ctx.check_mode {
        return Ok(super::result([
            ("skipped", Value::from(true)),
            (
                "msg",
                Value::from("This action (uri) does not support check mode."),
            ),
            ("changed", Value::from(false)),
        ]));
    }
    if body_format == "form-multipart" {
        return Err(ModuleError::Failed(
            "body_format form-multipart is not supported by baton yet".into(),
        ));
    }
    req.follow = match follow_redirects.as_str() {
        "all" | "yes" | "True" | "true" | "urllib2" => true,
        "safe" => method == "GET" || method == "HEAD",
        _ => false,
    };
    // The body, and the content type Ansible sets for it.
    let body_bytes: Option<Vec<u8>> = match (&body, body_format.as_str()) {
        (None, _) => None,
        (Some(b), "json") => {
            let text = match b.kind() {
                ValueKind::String => b.as_str().unwrap_or("").to_string(),
                _ => serde_json::to_string(&crate::value::to_json(b)).unwrap_or_default(),
            };
            Some(text.into_bytes())
        }
        (Some(b), "form-urlencoded") => Some(
            match b.kind() {
                ValueKind::Map => b
                    .try_iter()
                    .map(|keys| {
                        keys.map(|k| {
                            let v = b.get_item(&k).unwrap_or_default();
                            format!(
                                "{}={}",
                                urlencode(&k.to_string()),
                                urlencode(&v.as_str().map_or(v.to_string(), String::from))
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("&")
                    })
                    .unwrap_or_default(),
                _ => b.as_str().map_or(b.to_string(), String::from),
            }
            .into_bytes(),
        ),
        (Some(b), _) => Some(b.as_str().map_or(b.to_string(), String::from).into_bytes()),
    };
    let has_ct = req
        .headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
    if body_bytes.is_some() && !has_ct {
        match body_format.as_str() {
            "json" => req
                .headers
                .push(("Content-Type".into(), "application/json".into())),
            "form-urlencoded" => req.headers.push((
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            )),
            _ => {}
        }
    }
    let data = if body_bytes.is_some() {
        "--data-binary @-"
    } else {
        ""
    };
    let method_arg = if method == "GET" && body_bytes.is_none() {
        None
    } else {
        Some(method.as_str())
    };
    let mut script = NEED_CURL.replace("MODULE", "uri");
    // The response goes to a private directory (see hosttmp), and curl's options (URL,
    // headers, credentials) to a file there rather than onto its command line.
    script.push_str(&hosttmp::private_dir("T", Place::Tmp, Cleanup::OnExit)?);
    script.push_str(&format!(
        r#"printf '%s' {cfg} > "$T/c"
w=$(curl -K "$T/c" {data} -o "$T/b" -D "$T/h" -w '%{{http_code}}\t%{{url_effective}}\t%{{num_redirects}}' 2>"$T/e"); crc=$?
R w "$w"; R crc "$crc"; R err "$(head -c 2000 "$T/e" | tr '\n' ' ')"
printf 'BATON\theaders\t%s\n' "$(base64 -w0 < "$T/h")"
echo BATON-BODY
cat "$T/b"
"#,
        cfg = shell_quote(&req.curl_config(method_arg)),
    ));
    let start = Instant::now();
    let out = ctx
        .exec(
            &format!("{}{script}", fileutil::sh_lib()?),
            body_bytes.as_deref(),
        )
        .await?;
    let elapsed = start.elapsed().as_secs();
    let marker = b"BATON-BODY\n";
    let (head, content) = match out.stdout.windows(marker.len()).position(|w| w == marker) {
        Some(i) => (
            out.stdout[..i].to_vec(),
            out.stdout[i + marker.len()..].to_vec(),
        ),
        None => (out.stdout.clone(), Vec::new()),
    };
    let report = Report::parse(&crate::connection::ExecOutput {
        stdout: head,
        stderr: out.stderr.clone(),
        rc: out.rc,
    })?;
    let w = report.get("w").unwrap_or("");
    let mut wf = w.split('\t');
    let status: i64 = wf.next().and_then(|s| s.parse().ok()).unwrap_or(-1);
    let effective = wf.next().unwrap_or(&req.url).to_string();
    let redirects: i64 = wf.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let headers_text = report
        .get("headers")
        .and_then(crate::template::filters::b64decode)
        .map(|b| super::text(&b))
        .unwrap_or_default();
    let (reason, headers) = parse_headers(&headers_text);

    let mut r = Vars::new();
    r.insert("changed".into(), Value::from(false));
    if report.get("crc") != Some("0") || status <= 0 {
        let err = report.get("err").unwrap_or("").trim().to_string();
        r.insert("elapsed".into(), Value::from(elapsed));
        r.insert("redirected".into(), Value::from(false));
        r.insert("status".into(), Value::from(-1));
        r.insert("url".into(), Value::from(req.url.as_str()));
        r.insert("failed".into(), Value::from(true));
        r.insert(
            "msg".into(),
            Value::from(format!(
                "Status code was -1 and not {}: Request failed: {err}",
                codes_repr(&codes)
            )),
        );
        return Ok(r);
    }
    for (k, v) in &headers {
        if k == "set_cookie" {
            continue;
        }
        r.insert(k.clone(), Value::from(v.as_str()));
    }
    if codes.contains(&status) {
        // Ansible reports cookies for a successful response only.
        r.insert("cookies".into(), crate::value::from_vars(&Vars::new()));
        r.insert("cookies_string".into(), Value::from(""));
    }
    r.insert("elapsed".into(), Value::from(elapsed));
    r.insert("redirected".into(), Value::from(redirects > 0));
    r.insert("status".into(), Value::from(status));
    r.insert("url".into(), Value::from(effective));
    let text = super::text(&content);
    if header(&headers, "content_type").is_some_and(|ct| ct.contains("json"))
        && let Ok(j) = serde_json::from_str::<serde_json::Value>(&text)
    {
        r.insert("json".into(), crate::value::from_json(&j));
    }
    if return_content {
        r.insert("content".into(), Value::from(text));
    }
    if codes.contains(&status) {
        r.insert(
            "msg".into(),
            Value::from(format!(
                "OK ({} bytes)",
                header(&headers, "content_length").unwrap_or("unknown")
            )),
        );
    } else {
        r.insert("failed".into(), Value::from(true));
        r.insert(
            "msg".into(),
            Value::from(format!(
                "Status code was {status} and not {}: HTTP Error {status}: {reason}",
                codes_repr(&codes)
            )),
        );
    }
    Ok(r)
}

/// `application/x-www-form-urlencoded` encoding of one key or value.
fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_named_as_ansible_names_them() {
        let (reason, h) = parse_headers(
            "HTTP/1.1 301 Moved\r\nLocation: /x\r\n\r\nHTTP/1.0 404 File not found\r\nContent-Type: text/html\r\nContent-Length: 335\r\n\r\n",
        );
        assert_eq!(reason, "File not found");
        assert_eq!(header(&h, "content_type"), Some("text/html"));
        assert_eq!(header(&h, "content_length"), Some("335"));
        assert_eq!(codes_repr(&[200, 201]), "[200, 201]");
        assert_eq!(urlencode("a b&c"), "a+b%26c");
    }
}
