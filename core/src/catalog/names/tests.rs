use proptest::prelude::*;

use super::*;

#[test]
fn plain_names_keep_their_shape() {
    let mut namer = Namer::default();
    assert_eq!(
        namer.name(&slug("GitHub"), "c1", "create_issue"),
        "github__create_issue"
    );
    assert_eq!(
        namer.name(&slug("Linear (work)"), "c2", "issues.search"),
        "linear_work__issues_search"
    );
    assert_eq!(namer.name(&slug("日本語"), "c3", "検索"), "server__tool");
}

#[test]
fn collisions_get_a_stable_hash() {
    let mut first = Namer::default();
    let a = first.name("notes", "c1", "search");
    let b = first.name("notes", "c2", "search");
    let c = first.name("notes", "c2", "search!");
    assert_eq!(a, "notes__search");
    assert_ne!(a, b);
    assert_ne!(b, c);
    // The same order gives the same names (restarts, re-discovery).
    let mut again = Namer::default();
    assert_eq!(
        [
            again.name("notes", "c1", "search"),
            again.name("notes", "c2", "search"),
            again.name("notes", "c2", "search!")
        ],
        [a, b, c]
    );
}

#[test]
fn long_names_are_shortened_with_a_hash() {
    let mut namer = Namer::default();
    let long = "x".repeat(128);
    let name = namer.name(&slug(&"very long connector name".repeat(3)), "c1", &long);
    assert!(is_valid(&name), "{name}");
    assert_eq!(name.len(), MAX_NAME);
    let other = namer.name(&slug(&"very long connector name".repeat(3)), "c1", &format!("{long}y"));
    assert_ne!(name, other, "names that differ past the cut stay distinct");
}

#[test]
fn hashes_are_fixed_across_releases() {
    // Names already given out embed these: a change of the hash renames tools.
    assert_eq!(short_hash(&["connector", "tool"]), "350576c4");
    assert_eq!(short_hash(&["notes", "search_docs"]), "802fe6eb");
    assert_eq!(short_hash(&[""]), "29620a93");
    // Parts are separated: moving a character between them changes the hash.
    assert_eq!(short_hash(&["ab", "c"]), "fe4cc02a");
    assert_eq!(short_hash(&["a", "bc"]), "c4ebcb85");
}

proptest! {
    #[test]
    fn any_names_become_valid_unique_and_stable(
        tools in proptest::collection::vec(("[a-zA-Z0-9 ._é日-]{0,140}", 0usize..4), 1..40),
        sources in proptest::collection::vec("\\PC{0,70}", 4),
    ) {
        let assign = || {
            let mut namer = Namer::default();
            tools.iter().map(|(tool, source)| namer.name(&slug(&sources[*source]), &format!("id-{source}"), tool)).collect::<Vec<_>>()
        };
        let names = assign();
        for name in &names {
            prop_assert!(is_valid(name), "invalid: {name}");
        }
        let unique: HashSet<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
        prop_assert_eq!(unique.len(), names.len(), "duplicates in {:?}", names);
        prop_assert_eq!(assign(), names, "not stable");
    }
}
