//! TEMPORARY integration stub; replaced by the local branch.
#[derive(clap::Args)]
pub struct CheckArgs {}
pub struct Outcome;
impl Outcome {
    pub fn exit_code(&self) -> u8 {
        0
    }
}
pub fn run(_a: &CheckArgs, _o: &mut dyn std::io::Write) -> Result<Outcome, std::io::Error> {
    todo!()
}
