//! Agent meta-data: what parameters an agent takes and what its actions need.
//!
//! ```text
//!  OCF `meta-data` XML ─┐
//!  LSB INIT INFO block ─┼─(synthesize XML)─▶ parse ─▶ AgentMetadata ─▶ missing_required()
//!  heartbeat, systemd ──┘                                          ─▶ action_timeout()
//! ```
//!
//! Every class ends up as the same XML (Pacemaker does the same: it synthesizes OCF
//! meta-data for LSB and systemd agents), so one lenient parser serves all: unknown
//! elements and attributes are ignored, a DOCTYPE is allowed, descriptions are taken in
//! English when several languages are given.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use serde::{Deserialize, Serialize};

/// The parsed meta-data of one agent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentMetadata {
    /// `<resource-agent name>`.
    pub name: String,
    /// `<resource-agent version>`: the agent's own version.
    pub agent_version: Option<String>,
    /// `<version>`: the OCF API version the agent claims.
    pub ocf_version: Option<String>,
    /// One-line description.
    pub shortdesc: Option<String>,
    /// Long description.
    pub longdesc: Option<String>,
    /// Parameters, in document order.
    pub parameters: Vec<ParameterSpec>,
    /// Action hints, in document order.
    pub actions: Vec<ActionSpec>,
}

/// One `<parameter>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParameterSpec {
    /// Parameter name (the agent sees `OCF_RESKEY_<name>`).
    pub name: String,
    /// `required="1"`: must be configured.
    pub required: bool,
    /// `unique="1"`: must differ between instances (OCF 1.0 hint).
    pub unique: bool,
    /// `unique-group`: parameters sharing a group must be unique together (OCF 1.1).
    pub unique_group: Option<String>,
    /// `reloadable="1"`: a change can be applied with `reload-agent` (OCF 1.1).
    pub reloadable: bool,
    /// Pacemaker's `private="1"`: kept out of the CIB in clear text.
    pub private: bool,
    /// `<content type>`: boolean, string, integer, select, …
    pub content_type: Option<String>,
    /// `<content default>`: the agent's default (informational: the agent applies it).
    pub default: Option<String>,
    /// `<option value>` choices of a `select`.
    pub options: Vec<String>,
    /// `<deprecated>` is present.
    pub deprecated: bool,
    /// One-line description.
    pub shortdesc: Option<String>,
    /// Long description.
    pub longdesc: Option<String>,
}

/// One `<action>` hint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionSpec {
    /// Action name.
    pub name: String,
    /// Advised timeout, in milliseconds.
    pub timeout_ms: Option<u64>,
    /// Advised interval (recurring monitors), in milliseconds.
    pub interval_ms: Option<u64>,
    /// `start-delay`, in milliseconds.
    pub start_delay_ms: Option<u64>,
    /// `depth` (becomes `OCF_CHECK_LEVEL`).
    pub depth: Option<u32>,
    /// `role` the hint applies to.
    pub role: Option<String>,
}

/// Meta-data that cannot be parsed, with the line it broke on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("meta-data of {agent}, line {line}: {message}")]
pub struct MetadataError {
    /// The agent whose meta-data it is.
    pub agent: String,
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl AgentMetadata {
    /// The parameter named `name`.
    pub fn parameter(&self, name: &str) -> Option<&ParameterSpec> {
        self.parameters.iter().find(|p| p.name == name)
    }

    /// Required parameters that `params` lacks (or sets to the empty string), in
    /// document order.
    pub fn missing_required<'a>(&'a self, params: &BTreeMap<String, String>) -> Vec<&'a str> {
        self.parameters
            .iter()
            .filter(|p| p.required && params.get(&p.name).is_none_or(|v| v.is_empty()))
            .map(|p| p.name.as_str())
            .collect()
    }

    /// Whether the agent advertises `action`.
    pub fn supports(&self, action: &str) -> bool {
        self.actions.iter().any(|a| a.name == action)
    }

    /// The advised timeout for `action` (for a monitor, the hint whose interval matches
    /// best: same interval, else any).
    pub fn action_timeout_ms(&self, action: &str, interval_ms: u64) -> Option<u64> {
        let hints: Vec<&ActionSpec> = self.actions.iter().filter(|a| a.name == action).collect();
        hints
            .iter()
            .find(|a| a.interval_ms.unwrap_or(0) == interval_ms)
            .or_else(|| hints.first())
            .and_then(|a| a.timeout_ms)
    }
}

/// Parses an interval or timeout as Pacemaker does (`crm_get_msec`): a number with an
/// optional unit `ms`/`msec`, `us`/`usec`, `s`/`sec` (the default), `m`/`min`,
/// `h`/`hr`, `d`/`day`.
pub fn parse_duration_ms(text: &str) -> Option<u64> {
    let t = text.trim();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let n: u64 = t[..digits].parse().ok()?;
    let unit = t[digits..].trim().to_ascii_lowercase();
    let ms = match unit.as_str() {
        "" | "s" | "sec" | "secs" => n.checked_mul(1000)?,
        "ms" | "msec" | "msecs" => n,
        "us" | "usec" | "usecs" => n / 1000,
        "m" | "min" | "mins" => n.checked_mul(60_000)?,
        "h" | "hr" | "hrs" => n.checked_mul(3_600_000)?,
        "d" | "day" | "days" => n.checked_mul(86_400_000)?,
        _ => return None,
    };
    Some(ms)
}

/// Which description element is open.
#[derive(Clone, Copy, PartialEq, Eq)]
enum DescKind {
    Short,
    Long,
}

/// Where the parser is.
#[derive(Default)]
struct State {
    md: AgentMetadata,
    saw_root: bool,
    param: Option<ParameterSpec>,
    /// An open shortdesc/longdesc: what, whether English or unlabelled, text so far.
    desc: Option<(DescKind, bool, String)>,
    in_version: bool,
    version_text: String,
    depth: usize,
}

/// Parses OCF meta-data XML. `agent` only names the agent in errors.
pub fn parse(agent: &str, xml: &str) -> Result<AgentMetadata, MetadataError> {
    let err = |pos: u64, message: String| MetadataError {
        agent: agent.to_string(),
        line: line_of(xml, pos),
        message,
    };
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut st = State::default();
    loop {
        let pos = reader.buffer_position();
        let ev = reader
            .read_event()
            .map_err(|e| err(reader.error_position(), e.to_string()))?;
        match ev {
            Event::Start(e) => {
                st.depth += 1;
                start(&mut st, &e, false).map_err(|m| err(pos, m))?;
            }
            Event::Empty(e) => {
                st.depth += 1;
                start(&mut st, &e, true).map_err(|m| err(pos, m))?;
                end(&mut st, e.local_name().as_ref());
                st.depth -= 1;
            }
            Event::End(e) => {
                end(&mut st, e.local_name().as_ref());
                st.depth = st.depth.saturating_sub(1);
            }
            Event::Text(t) => text(&mut st, &t.xml10_content()),
            Event::CData(t) => text(&mut st, &t.xml10_content()),
            Event::GeneralRef(r) => {
                let resolved: Option<Cow<'_, str>> = match r.resolve_char_ref() {
                    Ok(Some(c)) => Some(Cow::Owned(c.to_string())),
                    Ok(None) => quick_xml::escape::resolve_predefined_entity(&r).map(Cow::Borrowed),
                    Err(e) => return Err(err(pos, e.to_string())),
                };
                match resolved {
                    Some(s) => text(&mut st, &s),
                    None => return Err(err(pos, format!("unknown entity &{};", &*r))),
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !st.saw_root {
        return Err(MetadataError {
            agent: agent.to_string(),
            line: 1,
            message: "no <resource-agent> element".into(),
        });
    }
    Ok(st.md)
}

fn line_of(xml: &str, pos: u64) -> usize {
    let pos = usize::try_from(pos).unwrap_or(usize::MAX).min(xml.len());
    xml.as_bytes()[..pos]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn attrs(e: &BytesStart<'_>) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for a in e.attributes() {
        let a = a.map_err(|e| e.to_string())?;
        let key = a.key.local_name().as_ref().to_string();
        let value = a
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| e.to_string())?
            .into_owned();
        out.insert(key, value);
    }
    Ok(out)
}

fn flag(a: &BTreeMap<String, String>, key: &str) -> bool {
    a.get(key)
        .is_some_and(|v| matches!(v.trim(), "1" | "true" | "yes" | "on"))
}

fn duration_attr(a: &BTreeMap<String, String>, key: &str) -> Option<u64> {
    a.get(key).and_then(|v| parse_duration_ms(v))
}

fn start(st: &mut State, e: &BytesStart<'_>, _empty: bool) -> Result<(), String> {
    let name = e.local_name();
    let a = attrs(e)?;
    match name.as_ref() {
        "resource-agent" => {
            st.saw_root = true;
            st.md.name = a.get("name").cloned().unwrap_or_default();
            st.md.agent_version = a.get("version").cloned();
        }
        "version" if st.param.is_none() => {
            st.in_version = true;
            st.version_text.clear();
        }
        "parameter" => {
            let pname = a
                .get("name")
                .cloned()
                .filter(|n| !n.is_empty())
                .ok_or_else(|| "<parameter> without a name".to_string())?;
            st.param = Some(ParameterSpec {
                name: pname,
                required: flag(&a, "required"),
                unique: flag(&a, "unique"),
                unique_group: a.get("unique-group").cloned(),
                reloadable: flag(&a, "reloadable"),
                private: flag(&a, "private"),
                ..ParameterSpec::default()
            });
        }
        "content" => {
            if let Some(p) = st.param.as_mut() {
                p.content_type = a.get("type").cloned();
                p.default = a.get("default").cloned();
            }
        }
        "option" => {
            if let (Some(p), Some(v)) = (st.param.as_mut(), a.get("value")) {
                p.options.push(v.clone());
            }
        }
        "deprecated" => {
            if let Some(p) = st.param.as_mut() {
                p.deprecated = true;
            }
        }
        "shortdesc" | "longdesc" => {
            let kind = if name.as_ref() == "shortdesc" {
                DescKind::Short
            } else {
                DescKind::Long
            };
            let english = a.get("lang").is_none_or(|l| l.starts_with("en"));
            st.desc = Some((kind, english, String::new()));
        }
        "action" => {
            if let Some(aname) = a.get("name").filter(|n| !n.is_empty()) {
                st.md.actions.push(ActionSpec {
                    name: aname.clone(),
                    timeout_ms: duration_attr(&a, "timeout"),
                    interval_ms: duration_attr(&a, "interval"),
                    start_delay_ms: duration_attr(&a, "start-delay"),
                    depth: a.get("depth").and_then(|d| d.trim().parse().ok()),
                    role: a.get("role").cloned(),
                });
            }
        }
        _ => {}
    }
    Ok(())
}

fn end(st: &mut State, name: &str) {
    match name {
        "version" if st.in_version => {
            st.in_version = false;
            let v = st.version_text.trim();
            if !v.is_empty() {
                st.md.ocf_version = Some(v.to_string());
            }
        }
        "parameter" => {
            if let Some(p) = st.param.take() {
                st.md.parameters.push(p);
            }
        }
        "shortdesc" | "longdesc" => {
            let Some((kind, english, text)) = st.desc.take() else {
                return;
            };
            let text = text.trim().to_string();
            let slot = match (&mut st.param, kind) {
                (Some(p), DescKind::Short) => &mut p.shortdesc,
                (Some(p), DescKind::Long) => &mut p.longdesc,
                (None, DescKind::Short) => &mut st.md.shortdesc,
                (None, DescKind::Long) => &mut st.md.longdesc,
            };
            // English wins; otherwise the first one given.
            if english || slot.is_none() {
                *slot = Some(text);
            }
        }
        _ => {}
    }
}

fn text(st: &mut State, t: &str) {
    if let Some((_, _, buf)) = st.desc.as_mut() {
        buf.push_str(t);
    } else if st.in_version {
        st.version_text.push_str(t);
    }
}

/// Escapes text for an XML attribute or element.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// A parameter of synthesized meta-data.
#[derive(Debug, Clone)]
pub struct SynthParam<'a> {
    /// Name.
    pub name: &'a str,
    /// Description.
    pub desc: &'a str,
}

/// Writes OCF meta-data XML for an agent that has none of its own (LSB, heartbeat,
/// systemd), in the shape Pacemaker synthesizes: a 1.0 agent with the given actions
/// (`(name, timeout, interval)`) and an optional `<special>` block of tagged values.
pub fn synthesize(
    name: &str,
    shortdesc: &str,
    longdesc: &str,
    params: &[SynthParam<'_>],
    actions: &[(&str, &str, Option<&str>)],
    special: Option<(&str, &[(String, String)])>,
) -> String {
    let mut x = String::new();
    let _ = writeln!(x, "<?xml version=\"1.0\"?>");
    let _ = writeln!(
        x,
        "<resource-agent name=\"{}\" version=\"0.1\">",
        xml_escape(name)
    );
    let _ = writeln!(x, "  <version>1.0</version>");
    let _ = writeln!(
        x,
        "  <longdesc lang=\"en\">{}</longdesc>",
        xml_escape(longdesc)
    );
    let _ = writeln!(
        x,
        "  <shortdesc lang=\"en\">{}</shortdesc>",
        xml_escape(shortdesc)
    );
    if params.is_empty() {
        let _ = writeln!(x, "  <parameters/>");
    } else {
        let _ = writeln!(x, "  <parameters>");
        for p in params {
            let _ = writeln!(
                x,
                "    <parameter name=\"{}\" unique=\"0\" required=\"0\">\n      \
                 <longdesc lang=\"en\">{d}</longdesc>\n      \
                 <shortdesc lang=\"en\">{d}</shortdesc>\n      \
                 <content type=\"string\"/>\n    </parameter>",
                xml_escape(p.name),
                d = xml_escape(p.desc)
            );
        }
        let _ = writeln!(x, "  </parameters>");
    }
    let _ = writeln!(x, "  <actions>");
    for (a, timeout, interval) in actions {
        match interval {
            Some(i) => {
                let _ = writeln!(
                    x,
                    "    <action name=\"{a}\" timeout=\"{timeout}\" interval=\"{i}\"/>"
                );
            }
            None => {
                let _ = writeln!(x, "    <action name=\"{a}\" timeout=\"{timeout}\"/>");
            }
        }
    }
    let _ = writeln!(x, "  </actions>");
    if let Some((tag, values)) = special {
        let _ = writeln!(x, "  <special tag=\"{}\">", xml_escape(tag));
        for (k, v) in values {
            let _ = writeln!(x, "    <{k}>{}</{k}>", xml_escape(v));
        }
        let _ = writeln!(x, "  </special>");
    }
    let _ = writeln!(x, "</resource-agent>");
    x
}

/// The `### BEGIN INIT INFO` block of an LSB init script.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InitInfo {
    /// `(keyword, value)` in file order, keywords as LSB spells them; `Description`
    /// includes its continuation lines.
    pub fields: Vec<(String, String)>,
}

impl InitInfo {
    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads the INIT INFO block of an init script (LSB 4.1 §20.3). Scripts without one get
/// an empty block, as in Pacemaker.
pub fn parse_init_info(script: &str) -> InitInfo {
    const KEYS: &[&str] = &[
        "Provides",
        "Required-Start",
        "Required-Stop",
        "Should-Start",
        "Should-Stop",
        "Default-Start",
        "Default-Stop",
        "Short-Description",
        "Description",
    ];
    let mut info = InitInfo::default();
    let mut inside = false;
    let mut in_description = false;
    for line in script.lines() {
        let trimmed = line.trim_end();
        if trimmed == "### BEGIN INIT INFO" {
            inside = true;
            continue;
        }
        if !inside {
            continue;
        }
        if trimmed == "### END INIT INFO" {
            break;
        }
        let Some(body) = trimmed.strip_prefix('#') else {
            break;
        };
        // A continuation of Description starts with "#" and a tab or two spaces.
        if in_description && (body.starts_with('\t') || body.starts_with("  ")) {
            if let Some((_, v)) = info.fields.last_mut() {
                v.push(' ');
                v.push_str(body.trim());
            }
            continue;
        }
        in_description = false;
        let body = body.trim_start();
        if let Some((k, v)) = body.split_once(':')
            && let Some(key) = KEYS.iter().find(|key| key.eq_ignore_ascii_case(k.trim()))
        {
            in_description = *key == "Description";
            info.fields.push(((*key).to_string(), v.trim().to_string()));
        }
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"<?xml version="1.0"?>
<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">
<resource-agent name="flag" version="0.1">
  <version>1.1</version>
  <longdesc lang="de">Hält eine Datei.</longdesc>
  <longdesc lang="en">Keeps a flag file present &amp; fresh while started.</longdesc>
  <shortdesc lang="en">Flag file</shortdesc>
  <parameters>
    <parameter name="path" required="1" unique-group="path">
      <longdesc lang="en">Absolute path of the flag file.</longdesc>
      <shortdesc lang="en">Flag path</shortdesc>
      <content type="string"/>
    </parameter>
    <parameter name="mode" reloadable="1" unique="0">
      <shortdesc lang="en">Mode</shortdesc>
      <content type="select" default="on"><option value="on"/><option value="off"/></content>
      <deprecated><replaced-with name="x"/></deprecated>
    </parameter>
    <unknown-element foo="bar"/>
  </parameters>
  <actions>
    <action name="start" timeout="20s"/>
    <action name="stop" timeout="2m"/>
    <action name="monitor" timeout="20" interval="10s" depth="0"/>
    <action name="monitor" timeout="40s" interval="60s" depth="10"/>
    <action name="meta-data" timeout="5s"/>
  </actions>
</resource-agent>
"#;

    #[test]
    fn parses_parameters_actions_and_descriptions() {
        let md = parse("ocf:test:flag", EXAMPLE).expect("parses");
        assert_eq!(md.name, "flag");
        assert_eq!(md.ocf_version.as_deref(), Some("1.1"));
        assert_eq!(
            md.longdesc.as_deref(),
            Some("Keeps a flag file present & fresh while started.")
        );
        assert_eq!(md.parameters.len(), 2);
        let path = md.parameter("path").expect("path");
        assert!(path.required && !path.unique);
        assert_eq!(path.unique_group.as_deref(), Some("path"));
        let mode = md.parameter("mode").expect("mode");
        assert!(mode.reloadable && mode.deprecated && !mode.required);
        assert_eq!(mode.default.as_deref(), Some("on"));
        assert_eq!(mode.options, vec!["on", "off"]);
        assert_eq!(md.action_timeout_ms("stop", 0), Some(120_000));
        assert_eq!(md.action_timeout_ms("monitor", 60_000), Some(40_000));
        assert_eq!(md.action_timeout_ms("monitor", 10_000), Some(20_000));
        assert!(md.supports("meta-data") && !md.supports("promote"));
        let mut params = BTreeMap::new();
        assert_eq!(md.missing_required(&params), vec!["path"]);
        params.insert("path".to_string(), "/x".to_string());
        assert!(md.missing_required(&params).is_empty());
    }

    #[test]
    fn broken_xml_names_the_line() {
        let e = parse(
            "ocf:x:y",
            "<resource-agent name=\"y\">\n<parameters>\n<parameter name=\"a\">\n</oops>",
        )
        .expect_err("broken");
        assert_eq!(e.line, 4, "{e}");
        let e = parse("ocf:x:y", "<nothing/>").expect_err("no root");
        assert!(e.message.contains("resource-agent"));
        let e = parse(
            "ocf:x:y",
            "<resource-agent>\n<parameters><parameter required=\"1\"/>",
        )
        .expect_err("nameless");
        assert_eq!(e.line, 2);
    }

    #[test]
    fn durations_like_crm_get_msec() {
        for (t, ms) in [
            ("20s", 20_000),
            ("20", 20_000),
            ("500ms", 500),
            ("2min", 120_000),
            ("1h", 3_600_000),
            (" 5 s ", 5_000),
        ] {
            assert_eq!(parse_duration_ms(t), Some(ms), "{t}");
        }
        assert_eq!(parse_duration_ms("soon"), None);
        assert_eq!(parse_duration_ms("5 parsecs"), None);
    }

    #[test]
    fn synthesized_metadata_round_trips() {
        let special = vec![("Provides".to_string(), "x <y>".to_string())];
        let xml = synthesize(
            "svc",
            "short & sweet",
            "long",
            &[SynthParam {
                name: "1",
                desc: "first argument",
            }],
            &[("start", "15s", None), ("monitor", "15s", Some("15s"))],
            Some(("LSB", &special)),
        );
        let md = parse("lsb:svc", &xml).expect("parses");
        assert_eq!(md.shortdesc.as_deref(), Some("short & sweet"));
        assert_eq!(md.parameters[0].name, "1");
        assert_eq!(md.action_timeout_ms("monitor", 15_000), Some(15_000));
    }

    #[test]
    fn init_info_with_continuations() {
        let script = "#!/bin/sh\n### BEGIN INIT INFO\n# Provides:          foo\n# Required-Start:    $remote_fs\n# Short-Description: Foo daemon\n# Description:       Foo does\n#                    many things.\n### END INIT INFO\necho\n";
        let info = parse_init_info(script);
        assert_eq!(info.get("provides"), Some("foo"));
        assert_eq!(info.get("Short-Description"), Some("Foo daemon"));
        assert_eq!(info.get("Description"), Some("Foo does many things."));
        assert_eq!(parse_init_info("#!/bin/sh\n"), InitInfo::default());
    }
}
