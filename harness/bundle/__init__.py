"""Ready-made autograders: a Gradescope zip and a PrairieLearn question folder for one challenge.

`harness bundle gradescope ID -o autograder.zip` and `harness bundle prairielearn ID -o DIR` (cli.py) package the
challenge, its reference solution and the harness (build.py: its wheel, the lock's pinned requirements, optionally
their wheels) with the platform's scripts (gradescope.py, prairielearn.py, common.py's setup.sh). In the platform's
grading container, entry.py locks the grader's files away from the submission's user, grades with the local backend
(the platform's container being the outer sandbox) and writes the platform's results.json through harness.export.

Nothing heavy is imported here: `harness --help` imports this package's cli module.
"""
