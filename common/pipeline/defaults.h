// Workflow `defaults`, applied to the steps that do not set them.
//
// The loader calls apply_defaults once after a successful load (inline child pipelines get
// their own defaults, not their parent's). It is idempotent: it only fills what is unset, so
// calling it again on a loaded pipeline changes nothing. Loop bodies are included.
//
//   timeout (or timeout_seconds)  -> Step::timeout_ms of every step except for_loop, while_loop
//                                    and pipeline steps (their timeout bounds all they contain);
//                                    for parallel_claude and claude_batch, Step::task_timeout_ms
//                                    (each task's, not the whole step's)
//   continue_on_error: true       -> Step::on_error = kContinue where neither on_error nor
//                                    continue_on_error is written
//   provider                      -> options.provider of llm steps
//   model                         -> options.model of llm steps; claude_options.model of claude,
//                                    claude_session, claude_extract, claude_robust, claude_smart
//                                    and claude_batch steps and of each parallel_claude task
//   claude_options                -> merged under the same claude_options (the step's keys win)
//   gemini_model                  -> options.model of gemini and gemini_instructor steps
//   token_budget (or gemini_token_budget) -> merged under their options.token_budget
//   preset (or claude_preset)     -> options.preset of claude_smart, claude_extract and
//                                    claude_batch steps
//   output_dir                    -> Pipeline::output_dir when the workflow does not set it
//                                    (done by the loader, which knows whether it was written)
// Options that hold a template instead of a map are left alone.
#pragma once

#include "common/pipeline/model.h"

namespace pl::pipeline {

void apply_defaults(Pipeline& pipeline);

}  // namespace pl::pipeline
