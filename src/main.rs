fn main() {
    std::process::exit(digit_recognizer::cli::main());
}
