//! Property tests of the parser: printed trees parse back to themselves; garbage never panics.

use backstore_odata::{parse_filter, parse_orderby, CmpOp, Expr, Literal, StrFunc};
use chrono::{TimeZone, Utc};
use proptest::prelude::*;

fn property() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["status", "id", "createdBy/user/id", "restorePoint/id", "displayName", "createdDateTime"])
        .prop_map(str::to_owned)
}

fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        Just(Literal::Null),
        any::<bool>().prop_map(Literal::Bool),
        any::<i64>().prop_map(Literal::Int),
        any::<String>().prop_map(Literal::Str),
        (0i64..4_102_444_800, 0u32..1_000_000)
            .prop_map(|(s, us)| Literal::DateTime(Utc.timestamp_opt(s, us * 1000).single().expect("in range"))),
    ]
}

fn leaf() -> impl Strategy<Value = Expr> {
    let op = prop::sample::select(CmpOp::ALL.iter().map(|(_, o)| *o).collect::<Vec<_>>());
    let func = prop::sample::select(StrFunc::ALL.iter().map(|(_, f)| *f).collect::<Vec<_>>());
    prop_oneof![
        (property(), op, literal()).prop_map(|(property, op, value)| Expr::Cmp { property, op, value }),
        (property(), prop::collection::vec(literal(), 1..4))
            .prop_map(|(property, values)| Expr::In { property, values }),
        (func, property(), any::<String>()).prop_map(|(func, property, value)| Expr::Func { func, property, value }),
        any::<String>().prop_map(Expr::IsOf),
    ]
}

fn expr() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(6, 48, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::Or(Box::new(a), Box::new(b))),
            inner.prop_map(|x| Expr::Not(Box::new(x))),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn printed_trees_parse_back(e in expr()) {
        let text = e.to_string();
        let back = parse_filter(&text);
        prop_assert_eq!(back.as_ref(), Ok(&e), "text: {}", text);
    }

    #[test]
    fn garbage_never_panics(text in any::<String>()) {
        if let Err(e) = parse_filter(&text) {
            prop_assert!(e.position <= text.chars().count());
        }
        let _ = parse_orderby(&text);
    }

    #[test]
    fn near_misses_never_panic(
        parts in prop::collection::vec(
            prop::sample::select(vec![
                "status", "eq", "'x'", "(", ")", "and", "or", "not", "in", ",", "contains", "isof", "2026-01-01T00:00:00Z",
                "null", "true", "'", "-", "1", "createdBy/user/id", "ge",
            ]),
            0..24,
        )
    ) {
        let text = parts.join(" ");
        if let Err(e) = parse_filter(&text) {
            prop_assert!(e.position <= text.chars().count(), "{} for {}", e, text);
        }
    }
}
