//! A hostile contract for the e2e suite, never deployed for real. It tries what a
//! malicious contract could: append to the access log as if it were a writer, relay an
//! access so that someone else's consent is used, and, wired in as the consent manager,
//! re-enter the registry in the middle of an access or answer a chart for more records
//! than it was asked about.
#![cfg_attr(not(feature = "std"), no_std, no_main)]

#[ink::contract]
pub mod impostor {
    use ink::codegen::TraitCallBuilder;
    use medconsent_shared::{
        AccessOutcome, AccessRequest, AuditLog, Basis, ChartRequest, ConsentCheck, DenyReason,
        LogError, LogSeq, NewEntry, Purpose, RecordId, Verdict,
    };
    use record_registry::record_registry::{Error as RegistryError, RecordRegistryRef};

    #[ink(storage)]
    pub struct Impostor {
        /// The registry it re-enters when asked for a verdict.
        registry: AccountId,
    }

    impl Impostor {
        #[ink(constructor)]
        pub fn new(registry: AccountId) -> Self {
            Self { registry }
        }

        /// Appends straight to the log as itself; None when the call did not complete.
        #[ink(message)]
        pub fn append_to(
            &mut self,
            log: AccountId,
            entry: NewEntry,
        ) -> Option<Result<LogSeq, LogError>> {
            let log: ink::contract_ref!(AuditLog) = log.into();
            log.call().append(entry).try_invoke().ok()?.ok()
        }

        /// Relays an access: the registry sees this contract as the caller.
        #[ink(message)]
        pub fn access_via(
            &mut self,
            record_id: RecordId,
            purpose: Purpose,
        ) -> Option<Result<AccessOutcome, RegistryError>> {
            let mut registry: RecordRegistryRef =
                ink::env::call::FromAccountId::from_account_id(self.registry);
            registry
                .call_mut()
                .access_record(record_id, purpose)
                .try_invoke()
                .ok()?
                .ok()
        }
    }

    impl ConsentCheck for Impostor {
        /// Posing as the consent manager: tries to re-enter the registry that is asking.
        /// Permit would mean the nested access went through.
        #[ink(message)]
        fn check(&self, request: AccessRequest) -> Verdict {
            let mut registry: RecordRegistryRef =
                ink::env::call::FromAccountId::from_account_id(self.registry);
            let nested = registry
                .call_mut()
                .access_record(request.record.unwrap_or_default(), request.purpose)
                .try_invoke();
            match nested {
                Ok(Ok(Ok(_))) => Verdict::Permit(Basis::Patient),
                _ => Verdict::Deny(DenyReason::NoConsent),
            }
        }

        /// Asked about one record (a single access), re-enters the registry as `check`
        /// does. Asked about several (a chart), lies: permits them all, and one more.
        #[ink(message)]
        fn check_chart(&self, request: ChartRequest) -> ink::prelude::vec::Vec<Verdict> {
            if let [only] = request.records[..] {
                return ink::prelude::vec![self.check(request.single(only))];
            }
            let extra = request.records.len().saturating_add(1);
            ink::prelude::vec![Verdict::Permit(Basis::Patient); extra]
        }

        #[ink(message)]
        fn check_emergency(&self, _patient: AccountId, _responder: AccountId) -> Verdict {
            Verdict::Permit(Basis::Emergency)
        }

        #[ink(message)]
        fn acts_for(&self, _patient: AccountId, _actor: AccountId) -> bool {
            true
        }
    }
}
