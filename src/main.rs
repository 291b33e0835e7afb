fn main() {
    std::process::exit(royal_care::cli::main());
}
