//! The staff knowledge base: the user manual loaded as the first articles, each shown to the
//! kinds of organisation its folder names; search by Japanese words (the same on both
//! backends); the nation writes, edits and deletes articles and attaches files — checked,
//! audited — and nobody else may.

use crate::common::*;
use vsys_app::knowledge::{self, ArticleDraft};
use vsys_domain::Msg;
use vsys_domain::knowledge::MAX_ATTACHMENT_BYTES;
use vsys_testkit::db_test;

fn ids(rows: &[knowledge::ArticleRow]) -> Vec<String> {
    rows.iter().map(|a| a.id.clone()).collect()
}

fn draft(title: &str, body: &str, readers: &[&str]) -> ArticleDraft {
    ArticleDraft {
        category: "faq".into(),
        readers: readers.iter().map(|r| (*r).to_owned()).collect(),
        title: title.into(),
        body: body.into(),
        sort_key: String::new(),
    }
}

db_test!(
    the_manual_is_the_first_knowledge_and_is_found_by_japanese_words,
    |backend| async move {
        let Some(w) = world(backend).await else {
            return;
        };
        let app = &w.app;
        let nation = w.actor("nation", "operator").await;
        let clinic = w.actor("clinic", "operator").await;
        let wholesaler = w.actor("wholesaler", "operator").await;
        // Every chapter of docs/manual is an article; the nation reads them all.
        let all = knowledge::list(app, &nation, None).await.unwrap();
        assert_eq!(all.len(), knowledge::MANUALS.len(), "{:?}", ids(&all));
        assert!(all.iter().any(|a| a.id == "manual-common-login"));
        // A clinic reads the common chapters and its own, not the wholesaler's.
        let mine = ids(&knowledge::list(app, &clinic, None).await.unwrap());
        assert!(mine.contains(&"manual-institution-results".to_owned()));
        assert!(mine.contains(&"manual-common-contact".to_owned()));
        assert!(!mine.contains(&"manual-wholesaler-deliveries".to_owned()));
        // こんなときには: one per kind; the clinic sees its own.
        let when = knowledge::list(app, &clinic, Some(vsys_domain::knowledge::Category::When))
            .await
            .unwrap();
        assert_eq!(ids(&when), ["manual-institution-when"]);
        // A Japanese word finds the chapters that hold it, and only those the reader reads.
        let found = knowledge::search(app, &wholesaler, "納入予定日")
            .await
            .unwrap();
        assert!(ids(&found).contains(&"manual-wholesaler-deliveries".to_owned()));
        assert!(
            found
                .iter()
                .all(|a| a.body.contains("納入予定日") || a.title.contains("納入予定日"))
        );
        assert!(
            !ids(&found)
                .iter()
                .any(|i| i.starts_with("manual-institution-"))
        );
        // One character finds too; two words must both be there; a word nowhere finds nothing.
        let needle = knowledge::search(app, &nation, "針").await.unwrap();
        assert!(!needle.is_empty());
        let both = knowledge::search(app, &nation, "分配　締切").await.unwrap();
        assert!(!both.is_empty());
        assert!(both.iter().all(|a| {
            let t = format!("{}{}", a.title, a.body);
            t.contains("分配") && t.contains("締切")
        }));
        assert!(
            knowledge::search(app, &nation, "存在しない言葉ほげ")
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            knowledge::search(app, &nation, " 、 ")
                .await
                .unwrap()
                .is_empty()
        );
        let long = "あ".repeat(101);
        match knowledge::search(app, &nation, &long).await {
            Err(vsys_app::AppError::Invalid(inv)) => {
                assert_eq!(inv.0[0].field, "q");
                assert_eq!(inv.0[0].msg, Msg::TooLong);
            }
            other => panic!("{other:?}"),
        }
        // Full-width letters are the same as half-width.
        let api = knowledge::search(app, &nation, "ＡＰＩトークン")
            .await
            .unwrap();
        assert!(
            ids(&api).contains(&"manual-wholesaler-api-tokens".to_owned()),
            "{:?}",
            ids(&api)
        );
        // Links between chapters lead to their articles.
        let (login, _) = knowledge::get(app, &nation, "manual-readme").await.unwrap();
        assert!(
            login.body.contains("(/knowledge/manual-common-login)"),
            "{}",
            login.body
        );
        // Loading happens once: a second start loads nothing.
        assert_eq!(
            knowledge::bootstrap(&w.db.db, w.app.clock.now())
                .await
                .unwrap(),
            0
        );
    }
);

db_test!(
    the_nation_writes_edits_deletes_and_attaches_and_nobody_else_may,
    |backend| async move {
        let Some(w) = world(backend).await else {
            return;
        };
        let app = &w.app;
        let nation = w.actor("nation", "operator").await;
        let tokyo = w.actor("tokyo", "admin").await;
        let wholesaler = w.actor("wholesaler", "operator").await;
        let clinic = w.actor("clinic", "operator").await;
        let d = draft(
            "ドライアイスの受け取り",
            "配送業者から**ドライアイス**を受け取ったら、保冷箱に入れます。",
            &["wholesaler", "dry_ice_maker"],
        );
        assert!(!knowledge::may_write(&tokyo));
        forbidden(knowledge::create(app, &tokyo, &d).await);
        forbidden(knowledge::create(app, &wholesaler, &d).await);
        // Refused drafts name their fields.
        let mut bad = draft("", "", &["nowhere"]);
        bad.category = "blog".into();
        match knowledge::create(app, &nation, &bad).await {
            Err(vsys_app::AppError::Invalid(inv)) => {
                let fields: Vec<&str> = inv.0.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(fields, ["category", "readers", "title", "body"]);
            }
            other => panic!("{other:?}"),
        }
        let a = knowledge::create(app, &nation, &d).await.unwrap();
        assert_eq!(a.readers, "wholesaler,dry_ice_maker");
        // Only its readers find it (and the nation).
        for (who, finds) in [(&wholesaler, true), (&clinic, false), (&nation, true)] {
            let found = ids(&knowledge::search(app, who, "保冷箱").await.unwrap());
            assert_eq!(found.contains(&a.id), finds);
        }
        not_found(knowledge::get(app, &clinic, &a.id).await);
        // Edited: the new words find it, the old ones no longer do.
        let mut e = d.clone();
        e.body = "受け取ったら、冷凍庫の横の置き場に置きます。".into();
        conflict(knowledge::update(app, &nation, &a.id, a.version + 5, &e).await);
        forbidden(knowledge::update(app, &tokyo, &a.id, a.version, &e).await);
        let a2 = knowledge::update(app, &nation, &a.id, a.version, &e)
            .await
            .unwrap();
        assert_eq!(a2.version, a.version + 1);
        assert!(ids(&knowledge::search(app, &wholesaler, "置き場").await.unwrap()).contains(&a.id));
        assert!(
            !ids(&knowledge::search(app, &wholesaler, "保冷箱").await.unwrap()).contains(&a.id)
        );
        // Attachments: PDF accepted; wrong type and too large refused, nothing stored.
        let pdf = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n".to_vec();
        forbidden(knowledge::attach(app, &wholesaler, &a.id, "x.pdf", &pdf).await);
        let f = knowledge::attach(app, &nation, &a.id, "../手順書.PDF", &pdf)
            .await
            .unwrap();
        assert_eq!(f.filename, "手順書.pdf");
        assert_eq!(f.kind, "pdf");
        let exe = b"MZ\x90\x00\x03\x00\x00\x00".to_vec();
        let big = {
            let mut b = b"%PDF-1.4\n".to_vec();
            b.resize(MAX_ATTACHMENT_BYTES + 1, b' ');
            b
        };
        for (name, bytes, msg) in [
            ("手順書.pdf", &exe, Msg::FileTypeRefused),
            ("big.pdf", &big, Msg::FileTooLarge),
        ] {
            match knowledge::attach(app, &nation, &a.id, name, bytes).await {
                Err(vsys_app::AppError::Invalid(inv)) => {
                    assert_eq!((inv.0[0].field.as_str(), inv.0[0].msg), ("file", msg));
                }
                other => panic!("{other:?}"),
            }
        }
        let (_, files) = knowledge::get(app, &wholesaler, &a.id).await.unwrap();
        assert_eq!(files.len(), 1);
        let (row, kind, bytes) = knowledge::attachment(app, &wholesaler, &a.id, &f.id)
            .await
            .unwrap();
        assert_eq!(
            (row.size as usize, kind.media_type(), bytes),
            (pdf.len(), "application/pdf", pdf.clone())
        );
        not_found(knowledge::attachment(app, &clinic, &a.id, &f.id).await);
        knowledge::detach(app, &nation, &a.id, &f.id).await.unwrap();
        // Deleted with what it carried.
        knowledge::attach(app, &nation, &a.id, "b.pdf", &pdf)
            .await
            .unwrap();
        forbidden(knowledge::delete(app, &tokyo, &a.id).await);
        knowledge::delete(app, &nation, &a.id).await.unwrap();
        not_found(knowledge::get(app, &nation, &a.id).await);
        assert!(
            knowledge::search(app, &nation, "置き場")
                .await
                .unwrap()
                .is_empty()
        );
        // Every write is in the audit log.
        let actions: Vec<String> = w
            .audit("knowledge.")
            .await
            .into_iter()
            .map(|r| r.action)
            .collect();
        for want in [
            "knowledge.create",
            "knowledge.update",
            "knowledge.attach",
            "knowledge.detach",
            "knowledge.delete",
        ] {
            assert!(actions.iter().any(|a| a == want), "{want} in {actions:?}");
        }
    }
);
