"""Stages: the units experiments compose. Each trains or scores one thing in its own
directory, resumes what a killed run left, and returns its results (results.json, written
last; a finished stage is returned as it is).

  results.py      the stage files (results.json, test_logits.npy, model.keras, export/) and
                  the table rows built from results
  classifier.py   one classifier trained on the labels (members, scratch models, joint sums)
  members.py      ensemble members: seeds seed .. seed + L - 1 under members/seed_<n>/
  ensemble.py     the members' average scored and exported (ensemble/)
  joint_sum.py    L fresh members trained end to end as one summed model (joint_sum/)
  distill.py      a student trained against a frozen teacher: KD (kd/) and SD (sd/)
  teacher_outputs.py  the distill stage's training stream: teacher on the fly, or cached
                  teacher logits (a bank of augmented views)
  scratch.py      the same-seed plain model every student is compared with (scratch/)
  saliency.py     saliency.png (Fig. 4) of members and the KD student
  view_inputs.py  a frozen model's features and their channel subsets (Fig. 6)
"""
