//! End-to-end tests: the three contracts deployed on substrate-contracts-node, wired as a
//! deployer wires them, and driven by distinct dev accounts (see `support`).
//! Run with `cargo test -p medconsent-e2e --features e2e-tests -- --test-threads=1`;
//! each test starts its own node.

#[cfg(all(test, feature = "e2e-tests"))]
mod support;

#[cfg(all(test, feature = "e2e-tests"))]
mod bench;
#[cfg(all(test, feature = "e2e-tests"))]
mod chart;
#[cfg(all(test, feature = "e2e-tests"))]
mod edges;
#[cfg(all(test, feature = "e2e-tests"))]
mod emergency;
#[cfg(all(test, feature = "e2e-tests"))]
mod forwarding;
#[cfg(all(test, feature = "e2e-tests"))]
mod hostile;
#[cfg(all(test, feature = "e2e-tests"))]
mod load;
#[cfg(all(test, feature = "e2e-tests"))]
mod restart;
#[cfg(all(test, feature = "e2e-tests"))]
mod security;
#[cfg(all(test, feature = "e2e-tests"))]
mod signed;
#[cfg(all(test, feature = "e2e-tests"))]
mod story;
#[cfg(all(test, feature = "e2e-tests"))]
mod time;
