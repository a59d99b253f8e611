//! `#[admin_messages(...)]`: the admin's messages, written once for the three contracts.
//!
//! ink! has no inherited messages, and `#[ink::contract]` reads its module before any
//! macro inside it expands. So this attribute goes above `#[ink::contract]`: it runs
//! first, adds one `impl` block of `#[ink(message)]`s to the module, and ink! then sees
//! them like any other. (A `macro_rules!` wrapper cannot do it: ink!'s generated code
//! and the contract's own `self` would end up in different hygiene contexts.) Every
//! message runs in the full code (`off_path`); the rules they apply are
//! `medconsent_shared::Admin`'s.
//!
//! Arguments, in order: the storage struct, the query that shows the two peers, the two
//! peer fields (in the order of `AdminChange::Peers`), that query's doc, and, for a
//! contract that can be paused, `set_paused`'s doc. The module must have in scope
//! `AccountId`, `Hash`, `Timestamp`, `AdminChange`, `ScheduledChange`, `split`, a
//! `Result` alias whose error takes `AdminFault`, and fields `admin`, `scheduled`,
//! `full_code` (and `paused`).

use proc_macro::TokenStream;
use quote::quote;
use syn::punctuated::Punctuated;
use syn::{parse_macro_input, Expr, ExprLit, ExprPath, Ident, Item, Lit, LitStr, Token};

fn ident(expr: &Expr) -> syn::Result<Ident> {
    match expr {
        Expr::Path(ExprPath { path, .. }) if path.get_ident().is_some() => {
            Ok(path.get_ident().cloned().expect("checked"))
        }
        other => Err(syn::Error::new_spanned(other, "expected a name")),
    }
}

fn text(expr: &Expr) -> syn::Result<LitStr> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Ok(s.clone()),
        other => Err(syn::Error::new_spanned(other, "expected a string")),
    }
}

#[proc_macro_attribute]
pub fn admin_messages(args: TokenStream, module: TokenStream) -> TokenStream {
    let args = parse_macro_input!(args with Punctuated::<Expr, Token![,]>::parse_terminated);
    let mut module = parse_macro_input!(module as syn::ItemMod);
    match expand(&args, &mut module) {
        Ok(()) => quote!(#module).into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn expand(args: &Punctuated<Expr, Token![,]>, module: &mut syn::ItemMod) -> syn::Result<()> {
    let args: Vec<&Expr> = args.iter().collect();
    if !(5..=6).contains(&args.len()) {
        return Err(syn::Error::new_spanned(
            &module.ident,
            "admin_messages(Struct, peers_query, first_peer, second_peer, \"peers doc\"[, \"set_paused doc\"])",
        ));
    }
    let contract = ident(args[0])?;
    let peers = ident(args[1])?;
    let first = ident(args[2])?;
    let second = ident(args[3])?;
    let peers_doc = text(args[4])?;
    let pause = match args.get(5) {
        Some(doc) => {
            let doc = text(doc)?;
            quote! {
                #[doc = #doc]
                #[ink(message)]
                pub fn set_paused(&mut self, paused: bool) -> Result<()> {
                    self.off_path();
                    self.paused = self.admin.set_paused(&self.env().caller(), paused)?;
                    Ok(())
                }

                #[ink(message)]
                pub fn paused(&self) -> bool {
                    self.off_path();
                    self.paused
                }
            }
        }
        None => quote!(),
    };
    let schedule_doc = format!(
        " Admin: announce new peers, `Peers({first}, {second})` (both must be contracts), or\n \
         new code. The first wiring applies at once (that is deployment); every later change\n \
         applies with `apply_change` after the delay."
    );
    let messages: Item = syn::parse2(quote! {
        impl #contract {
            #[doc = #schedule_doc]
            #[ink(message)]
            pub fn schedule_change(&mut self, change: AdminChange) -> Result<Timestamp> {
                self.off_path();
                let (caller, now) = (self.env().caller(), self.env().block_timestamp());
                let unwired = self.#first.is_none() && self.#second.is_none();
                let scheduled = self.admin.schedule(&caller, change, now, unwired)?;
                self.scheduled.set(&Some(scheduled));
                if scheduled.effective_at <= now {
                    self.apply_change()?;
                }
                Ok(scheduled.effective_at)
            }

            /// Admin: apply the announced change once its delay has passed.
            #[ink(message)]
            pub fn apply_change(&mut self) -> Result<()> {
                self.off_path();
                let (caller, now) = (self.env().caller(), self.env().block_timestamp());
                let change = self.admin.apply(&caller, self.scheduled_change(), now)?;
                match change {
                    AdminChange::Peers(first, second) => {
                        self.#first = Some(first);
                        self.#second = Some(second);
                    }
                    AdminChange::Code(_, full_code) => {
                        self.full_code = split::swap_full_code(&self.full_code, full_code);
                    }
                }
                self.scheduled.set(&None);
                Ok(())
            }

            /// Admin: withdraw the announced change.
            #[ink(message)]
            pub fn cancel_change(&mut self) -> Result<()> {
                self.off_path();
                self.admin
                    .cancel(&self.env().caller(), self.scheduled_change())?;
                self.scheduled.set(&None);
                Ok(())
            }

            /// The announced change and when it may apply, if any.
            #[ink(message)]
            pub fn scheduled_change(&self) -> Option<ScheduledChange> {
                self.off_path();
                self.scheduled.get().flatten()
            }

            /// The delay (ms) between announcing a change and applying it.
            #[ink(message)]
            pub fn change_delay(&self) -> Timestamp {
                self.off_path();
                self.admin.delay()
            }

            /// The code hash of the full code the off-path messages run in.
            #[ink(message)]
            pub fn full_code(&self) -> Hash {
                self.off_path();
                self.full_code
            }

            #[doc = #peers_doc]
            #[ink(message)]
            pub fn #peers(&self) -> (Option<AccountId>, Option<AccountId>) {
                self.off_path();
                (self.#first, self.#second)
            }

            #pause

            #[ink(message)]
            pub fn admin(&self) -> AccountId {
                self.off_path();
                self.admin.current()
            }

            #[ink(message)]
            pub fn pending_admin(&self) -> Option<AccountId> {
                self.off_path();
                self.admin.pending()
            }

            /// Admin: step one of handing the role over.
            #[ink(message)]
            pub fn propose_admin(&mut self, successor: AccountId) -> Result<()> {
                self.off_path();
                Ok(self.admin.propose(&self.env().caller(), successor)?)
            }

            /// The proposed admin: step two.
            #[ink(message)]
            pub fn accept_admin(&mut self) -> Result<()> {
                self.off_path();
                Ok(self.admin.accept(&self.env().caller())?)
            }
        }
    })?;
    let Some((_, items)) = module.content.as_mut() else {
        return Err(syn::Error::new_spanned(
            &module.ident,
            "admin_messages needs an inline module",
        ));
    };
    items.push(messages);
    Ok(())
}
