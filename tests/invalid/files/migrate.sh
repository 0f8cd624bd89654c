echo migrating {{ job.release }}
