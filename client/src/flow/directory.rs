//! The provider directory with its display names: listed at the finalized block, shown
//! wherever an account would be, and accepted where an account is asked.
//!
//! A name comes from the client's node like every other read: a lying node could answer
//! a name with another account. Every command that takes a name prints the account it
//! resolved to; where that matters more than convenience, give the account.

use super::{FlowError, Result, Session};
use crate::words::Names;
use medconsent_chain::{parse_account, ss58, Signer};
use medconsent_shared::{valid_provider_name, AccountId, Provider, MAX_NAME_WORD};

/// One entry of the provider directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub account: AccountId,
    pub provider: Provider,
    pub name: Option<String>,
}

impl Session {
    /// Every provider and key server in registration order, at the finalized block.
    pub async fn directory(&self) -> Result<Vec<Listed>> {
        let at = self.chain.finalized().await?;
        let all = medconsent_chain::reads::directory(&self.chain, &self.contracts(), at).await?;
        Ok(all
            .into_iter()
            .map(|(account, provider, name)| Listed {
                account,
                provider,
                name,
            })
            .collect())
    }

    /// The display names of the directory, for showing accounts.
    pub async fn names(&self) -> Result<Names> {
        Ok(names_of(&self.directory().await?))
    }

    /// The account `text` names: an account (SS58 or 0x-hex) as it is, else a provider's
    /// display name in the finalized directory.
    pub async fn resolve(&self, text: &str) -> Result<AccountId> {
        resolve(text, &self.directory().await?)
    }

    /// The admin gives `account` (a provider already in the directory) its display name.
    /// The name is checked here first, so a malformed one sends nothing.
    pub async fn set_provider_name(
        &self,
        admin: &Signer,
        account: AccountId,
        name: &str,
    ) -> Result<()> {
        check_name(name)?;
        let mut consents = self.contracts().consents();
        let message = consents.set_provider_name(account, name.as_bytes().to_vec());
        self.directory_change(admin, &message).await
    }
}

/// An account (SS58 or 0x-hex) as it is, else the provider `directory` names so. Text
/// that looks like an address but does not parse is that mistake, not an unknown name
/// (no name can look like an address: see `valid_provider_name`).
pub fn resolve(text: &str, directory: &[Listed]) -> Result<AccountId> {
    match parse_account(text) {
        Ok(account) => Ok(account),
        Err(why) if looks_like_an_account(text) => Err(FlowError::BadName(why)),
        Err(_) => resolve_name(text, directory),
    }
}

fn looks_like_an_account(text: &str) -> bool {
    text.starts_with("0x") || (text.len() > MAX_NAME_WORD && !text.contains(' '))
}

/// A display name the contract would take, or why not.
pub fn check_name(name: &str) -> Result<()> {
    if valid_provider_name(name.as_bytes()) {
        Ok(())
    } else {
        Err(FlowError::BadName(format!(
            "{name:?}: {}",
            crate::words::describe_consent_error(medconsent_chain::ConsentError::InvalidName)
        )))
    }
}

pub fn names_of(directory: &[Listed]) -> Names {
    Names::new(
        directory
            .iter()
            .filter_map(|l| Some((l.account, l.name.clone()?))),
    )
}

/// The one provider whose display name is `name` (ignoring case); an unknown or
/// ambiguous name is an error that lists the candidates.
pub fn resolve_name(name: &str, directory: &[Listed]) -> Result<AccountId> {
    let wanted = name.to_lowercase();
    let named = |l: &&Listed| {
        l.name
            .as_deref()
            .is_some_and(|n| n.to_lowercase() == wanted)
    };
    let matches: Vec<&Listed> = directory.iter().filter(named).collect();
    let describe =
        |l: &Listed| format!("{} ({})", l.name.as_deref().unwrap_or(""), ss58(&l.account));
    match matches.as_slice() {
        [one] => Ok(one.account),
        [] => Err(FlowError::UnknownName {
            name: name.to_owned(),
            known: directory
                .iter()
                .filter(|l| l.name.is_some())
                .map(describe)
                .collect(),
        }),
        many => Err(FlowError::AmbiguousName {
            name: name.to_owned(),
            candidates: many.iter().map(|l| describe(l)).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use medconsent_shared::{ProviderStatus, RoleSet};

    fn listed(byte: u8, name: Option<&str>) -> Listed {
        Listed {
            account: AccountId::from([byte; 32]),
            provider: Provider {
                roles: RoleSet(1),
                status: ProviderStatus::Active,
                public_key: [byte; 32],
                registered_at: 0,
            },
            name: name.map(str::to_owned),
        }
    }

    fn directory() -> Vec<Listed> {
        vec![
            listed(1, Some("Dr Dave Smith")),
            listed(2, Some("St Mary ER")),
            listed(3, None),
            listed(4, Some("Dr Jo Lee")),
            listed(5, Some("dr jo lee")),
        ]
    }

    #[test]
    fn a_unique_name_resolves_whatever_its_case() {
        let d = directory();
        assert_eq!(resolve_name("Dr Dave Smith", &d).unwrap(), d[0].account);
        assert_eq!(resolve_name("st mary er", &d).unwrap(), d[1].account);
        assert_eq!(resolve_name("ST MARY ER", &d).unwrap(), d[1].account);
    }

    #[test]
    fn an_unknown_name_lists_every_named_provider() {
        let d = directory();
        match resolve_name("Dr Who", &d) {
            Err(FlowError::UnknownName { name, known }) => {
                assert_eq!(name, "Dr Who");
                assert_eq!(known.len(), 4, "{known:?}");
                assert!(known[0].starts_with("Dr Dave Smith (5"), "{known:?}");
            }
            other => panic!("{other:?}"),
        }
        let message = resolve_name("Dr Who", &d).unwrap_err().to_string();
        assert!(
            message.contains("no provider is named \"Dr Who\""),
            "{message}"
        );
    }

    #[test]
    fn an_ambiguous_name_lists_its_candidates_with_their_accounts() {
        let d = directory();
        match resolve_name("DR JO LEE", &d) {
            Err(FlowError::AmbiguousName { candidates, .. }) => {
                assert_eq!(
                    candidates,
                    vec![
                        format!("Dr Jo Lee ({})", ss58(&d[3].account)),
                        format!("dr jo lee ({})", ss58(&d[4].account)),
                    ]
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn names_show_beside_the_account_and_unnamed_accounts_as_they_are() {
        let names = names_of(&directory());
        let dave = AccountId::from([1; 32]);
        let unnamed = AccountId::from([3; 32]);
        assert_eq!(
            names.show(&dave),
            format!("Dr Dave Smith ({})", ss58(&dave))
        );
        assert_eq!(names.show(&unnamed), ss58(&unnamed));
        assert_eq!(names.name(&dave), Some("Dr Dave Smith"));
    }

    #[test]
    fn a_mistyped_address_is_said_to_be_one_not_an_unknown_name() {
        let d = directory();
        let dave = ss58(&d[0].account);
        assert_eq!(resolve(&dave, &d).unwrap(), d[0].account);
        assert_eq!(resolve("dr dave smith", &d).unwrap(), d[0].account);
        let mut typo = dave.clone();
        typo.replace_range(5..6, if &dave[5..6] == "a" { "b" } else { "a" });
        for text in [typo.as_str(), "0x1234"] {
            assert!(
                matches!(resolve(text, &d), Err(FlowError::BadName(_))),
                "{text}"
            );
        }
    }

    #[test]
    fn a_malformed_name_is_refused_before_anything_is_sent() {
        for bad in [
            "",
            " Dr",
            "Dr ",
            "Dr\u{7}",
            "Dr\u{202e}",
            "anyone",
            &"x".repeat(65),
        ] {
            assert!(
                matches!(check_name(bad), Err(FlowError::BadName(_))),
                "{bad:?}"
            );
        }
        assert!(check_name("Dr Dave Smith").is_ok());
    }
}
