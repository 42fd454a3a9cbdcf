"""`asl test`: test files of cases for a state machine, run on the embedded engine, with coverage.

Modules, each with one job (the command line is engine/cli/cases.py):

    files.py     the test-file format (a JSON Schema), reading and checking a file, every
                 problem located by file, case and field
    matching.py  comparing expected and actual JSON values (exact or a subset), as a list of
                 differences at JSON paths
    trace.py     what an execution's history says: the states entered, each visit's input and
                 output, Task calls, failures and how each ended (retried, caught, uncaught)
    runner.py    running each case through `Engine` on a virtual clock, and checking it
    coverage.py  which states, Choice rules, Retry and Catch clauses and branches the cases
                 exercised, from the histories and the compiled definition
    report.py    the readable report, JUnit XML, JSON, the coverage table and the annotated
                 definition

Must never: instrument the interpreter or decide ASL semantics; everything here reads what
`Engine` returns (the history and the result) and the compiled `Machine`.
"""
