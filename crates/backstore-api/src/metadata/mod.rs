//! `$metadata`: the CSDL document of the parts of Graph's model backstore serves (Backup Storage,
//! and the files and mail restores write), written from the one description in `model.txt` (types,
//! enums, bound operations, the container that addresses them), once per API version.

use std::fmt::Write as _;
use std::sync::LazyLock;

use crate::ApiVersion;

const DESCRIPTION: &str = include_str!("model.txt");
const NAMESPACE: &str = "microsoft.graph";

/// The CSDL document of `version`.
pub fn document(version: ApiVersion) -> &'static str {
    static V1: LazyLock<String> = LazyLock::new(|| write(&Model::read(DESCRIPTION, false)));
    static BETA: LazyLock<String> = LazyLock::new(|| write(&Model::read(DESCRIPTION, true)));
    match version {
        ApiVersion::V1 => &V1,
        ApiVersion::Beta => &BETA,
    }
}

#[derive(Debug, Default)]
struct Model {
    enums: Vec<Enum>,
    types: Vec<Type>,
    operations: Vec<Operation>,
}

#[derive(Debug)]
struct Enum {
    name: String,
    flags: bool,
    members: Vec<(String, i64)>,
}

#[derive(Debug)]
struct Type {
    name: String,
    entity: bool,
    base: Option<String>,
    is_abstract: bool,
    open: bool,
    keyless: bool,
    members: Vec<Member>,
}

#[derive(Debug)]
struct Member {
    name: String,
    /// The type as written: `String`, `[restorePoint]`.
    of: String,
    nullable: bool,
    nav: Option<bool>,
}

#[derive(Debug)]
struct Operation {
    name: String,
    function: bool,
    binding: String,
    returns: Option<String>,
    parameters: Vec<Member>,
}

/// What a line opens, which the indented lines after it fill.
enum Open {
    Type,
    Operation,
    Skipped,
}

impl Model {
    /// The model of one version: every line, or (on v1.0) the lines not marked `beta`. A line the
    /// reader does not understand is a mistake in `model.txt`, which a unit test reads.
    fn read(text: &str, beta: bool) -> Model {
        let mut m = Model::default();
        let mut open = Open::Skipped;
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (beta_only, line) = match line.strip_prefix("beta ") {
                Some(rest) => (true, rest),
                None => (false, line),
            };
            let indented = raw.starts_with(' ');
            if beta_only && !beta {
                if !indented {
                    open = Open::Skipped;
                }
                continue;
            }
            let bad = |why: &str| -> ! { panic!("model.txt line {}: {why}: {raw}", n + 1) };
            if indented {
                match open {
                    Open::Type => m.types.last_mut().expect("a type is open").members.push(member(line)),
                    Open::Operation => {
                        m.operations.last_mut().expect("an operation is open").parameters.push(member(line))
                    }
                    Open::Skipped => {}
                }
                continue;
            }
            let (keyword, rest) = line.split_once(' ').unwrap_or_else(|| bad("no name"));
            match keyword {
                "enum" => {
                    let (head, members) = rest.split_once(':').unwrap_or_else(|| bad("no members"));
                    let mut words = head.split_whitespace();
                    let name = words.next().unwrap_or_else(|| bad("no name")).to_owned();
                    let flags = words.next() == Some("flags");
                    let mut next = 0;
                    let mut list = Vec::new();
                    for word in members.split_whitespace() {
                        let word = match word.strip_prefix("beta:") {
                            Some(_) if !beta => {
                                next += 1;
                                continue;
                            }
                            Some(w) => w,
                            None => word,
                        };
                        let (name, value) = match word.split_once('=') {
                            Some((name, v)) => (name, v.parse().unwrap_or_else(|_| bad("a bad value"))),
                            None => (word, next),
                        };
                        list.push((name.to_owned(), value));
                        next = value + 1;
                    }
                    m.enums.push(Enum { name, flags, members: list });
                    open = Open::Skipped;
                }
                "complex" | "entity" => {
                    let mut words = rest.split_whitespace().peekable();
                    let name = words.next().unwrap_or_else(|| bad("no name")).to_owned();
                    let base = if words.peek() == Some(&":") {
                        words.next();
                        Some(words.next().unwrap_or_else(|| bad("no base")).to_owned())
                    } else {
                        None
                    };
                    let marks: Vec<&str> = words.collect();
                    if let Some(m) = marks.iter().find(|w| !["abstract", "open", "keyless"].contains(w)) {
                        bad(&format!("unknown mark '{m}'"));
                    }
                    m.types.push(Type {
                        name,
                        entity: keyword == "entity",
                        base,
                        is_abstract: marks.contains(&"abstract"),
                        open: marks.contains(&"open"),
                        keyless: marks.contains(&"keyless"),
                        members: Vec::new(),
                    });
                    open = Open::Type;
                }
                "action" | "function" => {
                    let (name, rest) = rest.split_once('(').unwrap_or_else(|| bad("no binding"));
                    let (binding, rest) = rest.split_once(')').unwrap_or_else(|| bad("no binding"));
                    let returns = rest.trim().strip_prefix("->").map(|t| t.trim().to_owned());
                    m.operations.push(Operation {
                        name: name.trim().to_owned(),
                        function: keyword == "function",
                        binding: binding.trim().to_owned(),
                        returns,
                        parameters: Vec::new(),
                    });
                    open = Open::Operation;
                }
                _ => bad("unknown keyword"),
            }
        }
        m
    }
}

/// A member line: `name Type[!]` or `nav name Type [contained]`.
fn member(line: &str) -> Member {
    let words: Vec<&str> = line.split_whitespace().collect();
    let (nav, words) = match words.split_first() {
        Some((&"nav", rest)) => (Some(rest.get(2) == Some(&"contained")), rest),
        _ => (None, &words[..]),
    };
    let [name, of, ..] = words else { panic!("model.txt: a member needs a name and a type: {line}") };
    let (of, nullable) = match of.strip_suffix('!') {
        Some(of) => (of, false),
        None => (*of, true),
    };
    Member { name: (*name).to_owned(), of: of.to_owned(), nullable, nav }
}

const PRIMITIVES: [&str; 7] = ["String", "Int32", "Int64", "Boolean", "DateTimeOffset", "Duration", "Binary"];

/// A type as CSDL names it: `Edm.String`, `Collection(microsoft.graph.restorePoint)`.
fn qualified(of: &str) -> String {
    if let Some(inner) = of.strip_prefix('[').and_then(|o| o.strip_suffix(']')) {
        return format!("Collection({})", qualified(inner));
    }
    if PRIMITIVES.contains(&of) {
        format!("Edm.{of}")
    } else {
        format!("{NAMESPACE}.{of}")
    }
}

fn write(m: &Model) -> String {
    let mut x = String::with_capacity(64 * 1024);
    x.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    x.push_str("<edmx:Edmx Version=\"4.0\" xmlns:edmx=\"http://docs.oasis-open.org/odata/ns/edmx\">\n");
    x.push_str("  <edmx:DataServices>\n");
    let _ = writeln!(
        x,
        "    <Schema Namespace=\"{NAMESPACE}\" Alias=\"graph\" xmlns=\"http://docs.oasis-open.org/odata/ns/edm\">"
    );
    for e in &m.enums {
        let flags = if e.flags { " IsFlags=\"true\"" } else { "" };
        let _ = writeln!(x, "      <EnumType Name=\"{}\"{flags}>", e.name);
        for (name, value) in &e.members {
            let _ = writeln!(x, "        <Member Name=\"{name}\" Value=\"{value}\" />");
        }
        x.push_str("      </EnumType>\n");
    }
    for t in &m.types {
        let element = if t.entity { "EntityType" } else { "ComplexType" };
        let _ = write!(x, "      <{element} Name=\"{}\"", t.name);
        if let Some(base) = &t.base {
            let _ = write!(x, " BaseType=\"{}\"", qualified(base));
        }
        if t.is_abstract {
            x.push_str(" Abstract=\"true\"");
        }
        if t.open {
            x.push_str(" OpenType=\"true\"");
        }
        x.push_str(">\n");
        if t.entity && t.base.is_none() && !t.keyless {
            x.push_str("        <Key>\n          <PropertyRef Name=\"id\" />\n        </Key>\n");
        }
        for p in &t.members {
            write_member(&mut x, p);
        }
        let _ = writeln!(x, "      </{element}>");
    }
    for o in &m.operations {
        let element = if o.function { "Function" } else { "Action" };
        let _ = writeln!(x, "      <{element} Name=\"{}\" IsBound=\"true\">", o.name);
        let _ = writeln!(x, "        <Parameter Name=\"bindingParameter\" Type=\"{}\" />", qualified(&o.binding));
        for p in &o.parameters {
            let nullable = if p.nullable { "" } else { " Nullable=\"false\"" };
            let _ = writeln!(x, "        <Parameter Name=\"{}\" Type=\"{}\"{nullable} />", p.name, qualified(&p.of));
        }
        if let Some(r) = &o.returns {
            let _ = writeln!(x, "        <ReturnType Type=\"{}\" />", qualified(r));
        }
        let _ = writeln!(x, "      </{element}>");
    }
    x.push_str("      <EntityContainer Name=\"GraphService\">\n");
    let _ = writeln!(x, "        <Singleton Name=\"solutions\" Type=\"{NAMESPACE}.solutionsRoot\" />");
    for (set, of) in [("users", "user"), ("drives", "drive"), ("sites", "site")] {
        let _ = writeln!(x, "        <EntitySet Name=\"{set}\" EntityType=\"{NAMESPACE}.{of}\" />");
    }
    x.push_str("      </EntityContainer>\n");
    x.push_str("    </Schema>\n  </edmx:DataServices>\n</edmx:Edmx>\n");
    x
}

fn write_member(x: &mut String, p: &Member) {
    let nullable = if p.nullable { "" } else { " Nullable=\"false\"" };
    match p.nav {
        Some(contained) => {
            let contains = if contained { " ContainsTarget=\"true\"" } else { "" };
            let _ = writeln!(
                x,
                "        <NavigationProperty Name=\"{}\" Type=\"{}\"{contains} />",
                p.name,
                qualified(&p.of)
            );
        }
        None => {
            let _ = writeln!(x, "        <Property Name=\"{}\" Type=\"{}\"{nullable} />", p.name, qualified(&p.of));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every type a member, a base, a binding or a return names is declared, on both versions, and
    /// no name is declared twice.
    #[test]
    fn the_description_is_whole_on_both_versions() {
        for beta in [false, true] {
            let m = Model::read(DESCRIPTION, beta);
            let mut declared: Vec<&str> = m.enums.iter().map(|e| e.name.as_str()).collect();
            declared.extend(m.types.iter().map(|t| t.name.as_str()));
            let mut sorted = declared.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), declared.len(), "a name declared twice (beta: {beta})");
            let known = |of: &str| {
                let bare = of.trim_start_matches('[').trim_end_matches(']');
                PRIMITIVES.contains(&bare) || declared.contains(&bare)
            };
            for t in &m.types {
                if let Some(b) = &t.base {
                    assert!(known(b), "{}: base {b} (beta: {beta})", t.name);
                }
                for p in &t.members {
                    assert!(known(&p.of), "{}.{}: {} (beta: {beta})", t.name, p.name, p.of);
                }
            }
            for o in &m.operations {
                assert!(known(&o.binding), "{}: {} (beta: {beta})", o.name, o.binding);
                assert!(o.returns.as_deref().is_none_or(known), "{} returns (beta: {beta})", o.name);
                assert!(o.parameters.iter().all(|p| known(&p.of)), "{} parameters (beta: {beta})", o.name);
            }
        }
    }

    #[test]
    fn beta_lines_are_left_out_of_v1() {
        let (v1, beta) = (document(ApiVersion::V1), document(ApiVersion::Beta));
        for beta_only in ["activityLogBase", "getStatisticsByPolicy", "protectionMode", "includeNewerItems"] {
            assert!(!v1.contains(beta_only), "{beta_only} on v1.0");
            assert!(beta.contains(beta_only), "{beta_only} missing on beta");
        }
        assert!(v1.contains("<Member Name=\"unknownFutureValue\" Value=\"2\" />"));
        // A beta-only member keeps its value: the members after it on beta count on from it.
        assert!(beta.contains("<Member Name=\"includeNewerItems\" Value=\"4\" />"));
    }
}
