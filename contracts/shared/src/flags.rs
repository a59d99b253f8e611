//! Small sets of flags (purposes, actions, provider roles) kept as one byte each, so a
//! rule costs a byte per set in storage and a bit test per check.

macro_rules! flag_set {
    (
        $(#[$flag_meta:meta])* $flag:ident,
        $(#[$set_meta:meta])* $set:ident { $($(#[$vmeta:meta])* $variant:ident = $bit:expr),+ $(,)? }
    ) => {
        $(#[$flag_meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[ink::scale_derive(Encode, Decode, TypeInfo)]
        #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
        pub enum $flag {
            $($(#[$vmeta])* $variant),+
        }

        impl $flag {
            /// The bit that stands for this flag in a set.
            pub const fn bit(self) -> u8 {
                match self {
                    $(Self::$variant => $bit),+
                }
            }
        }

        $(#[$set_meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        #[ink::scale_derive(Encode, Decode, TypeInfo)]
        #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
        pub struct $set(pub u8);

        impl $set {
            /// Every known flag.
            pub const ALL: Self = Self(0 $(| $bit)+);

            pub const fn empty() -> Self {
                Self(0)
            }

            pub const fn with(self, flag: $flag) -> Self {
                Self(self.0 | flag.bit())
            }

            pub const fn contains(self, flag: $flag) -> bool {
                self.0 & flag.bit() != 0
            }

            /// Non-empty and no unknown bits.
            pub const fn is_valid(self) -> bool {
                self.0 != 0 && self.0 & !Self::ALL.0 == 0
            }
        }

        impl<const N: usize> From<[$flag; N]> for $set {
            fn from(flags: [$flag; N]) -> Self {
                flags.iter().fold(Self::empty(), |set, flag| set.with(*flag))
            }
        }
    };
}

flag_set! {
    /// HL7 PurposeOfUse codes accepted by medconsent.
    Purpose,
    /// A set of purposes, one bit each (TREAT = 1, ETREAT = 2, HPAYMT = 4, HOPERAT = 8,
    /// HRESCH = 16, PUBHLTH = 32, PATRQT = 64).
    PurposeSet {
        /// TREAT: treatment.
        Treat = 1,
        /// ETREAT: emergency treatment (break-glass).
        EmergencyTreat = 2,
        /// HPAYMT: healthcare payment.
        Payment = 4,
        /// HOPERAT: healthcare operations.
        Operations = 8,
        /// HRESCH: healthcare research.
        Research = 16,
        /// PUBHLTH: public health.
        PublicHealth = 32,
        /// PATRQT: the patient's own request.
        PatientRequest = 64,
    }
}

flag_set! {
    /// What an accessor wants to do with a record.
    Action,
    /// A set of actions (Read = 1, Append = 2).
    ActionSet {
        /// Receive the record's content hash and locator.
        Read = 1,
        /// Register a new record or a new version of one.
        Append = 2,
    }
}

flag_set! {
    /// Roles of a provider in the directory.
    Role,
    /// A set of roles (Clinician = 1, EmergencyResponder = 2, Researcher = 4, Auditor = 8,
    /// KeyServer = 16).
    RoleSet {
        Clinician = 1,
        /// May use break-glass access.
        EmergencyResponder = 2,
        Researcher = 4,
        Auditor = 8,
        /// An off-chain key server: clients deposit record-key shares to its directory
        /// key while it is active (suspending it stops new deposits and releases).
        KeyServer = 16,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_hold_what_was_put_in() {
        let set = PurposeSet::from([Purpose::Treat, Purpose::PatientRequest]);
        assert_eq!(set, PurposeSet(65));
        assert!(set.contains(Purpose::Treat));
        assert!(!set.contains(Purpose::Research));
        assert!(set.is_valid());
    }

    #[test]
    fn empty_and_unknown_bits_are_invalid() {
        assert!(!PurposeSet::empty().is_valid());
        assert!(!PurposeSet(128).is_valid());
        assert!(!ActionSet(4).is_valid());
        assert!(ActionSet(3).is_valid());
        assert!(!RoleSet(32 | 1).is_valid());
        assert!(RoleSet::from([Role::KeyServer]).is_valid());
    }
}
