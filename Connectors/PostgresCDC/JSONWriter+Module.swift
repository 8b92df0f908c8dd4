import SluiceCore

/// SluiceCore's ``SluiceCore/JSONWriter`` (the one JSON writer, which lived here until issue 20)
/// by its plain name for this module's files that write events and do not import SluiceCore
/// (ValueConverter.swift, the *Conversion.swift files, ConnectSchema, DebeziumSchemas). Once
/// each of them imports SluiceCore this file can go. Fuzz/run.sh leaves it out: the fuzz
/// targets compile everything as one module named SluiceCore, where it would name itself.
typealias JSONWriter = SluiceCore.JSONWriter
